"""JSON output: the `Leaderboard` model itself, so its JSON Schema (`Leaderboard.model_json_schema()`) documents it."""

from __future__ import annotations

from benchmark_qa.leaderboard.model import Leaderboard


def render_json(leaderboard: Leaderboard) -> str:
    return leaderboard.model_dump_json(indent=2) + "\n"
