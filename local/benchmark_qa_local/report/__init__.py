"""Renderings of the annotator leaderboard (`benchmark_qa.leaderboard.Leaderboard`): a self-contained HTML page,
CSV, JSON and a compact text table for the terminal. Dev and CLI tooling; never shipped in a Lambda."""

from __future__ import annotations

from benchmark_qa_local.report.csv import render_csv
from benchmark_qa_local.report.html import render_html
from benchmark_qa_local.report.json import render_json
from benchmark_qa_local.report.text import render_text

__all__ = ["render_csv", "render_html", "render_json", "render_text"]
