"""A compact leaderboard for the terminal: one line per annotator, ranked first, then the rule in one line."""

from __future__ import annotations

from benchmark_qa.leaderboard.model import AnnotatorRow, Leaderboard
from benchmark_qa.scoring.metrics import Stat

NAME_WIDTH = 28


def _value(s: Stat) -> str:
    return "  -  " if s.value is None else f"{s.value:.3f}"


def _interval(s: Stat) -> str:
    return "" if s.low is None or s.high is None else f"[{s.low:.2f}, {s.high:.2f}]"


def _name(annotator: str) -> str:
    return annotator if len(annotator) <= NAME_WIDTH else annotator[: NAME_WIDTH - 1] + "…"


def _line(row: AnnotatorRow) -> str:
    rank = f"{row.rank:>4}" if row.rank is not None else "   -"
    conflict = f"{row.conflicts[0].name} ({row.conflicts[0].count})" if row.conflicts else ""
    tail = conflict if row.rank is not None else "not enough evidence"
    return (
        f"{rank}  {_name(row.annotator):<{NAME_WIDTH}} {row.tasks:>5}  {_value(row.score)}  "
        f"{_interval(row.score):<12}  {_value(row.f1)}  {_value(row.attributes)}  {tail}"
    )


def render_text(leaderboard: Leaderboard) -> str:
    since = f" since {leaderboard.since}" if leaderboard.since else ""
    lines = [
        f"Annotator leaderboard{since}: {leaderboard.tasks} scored tasks, {len(leaderboard.annotators)} annotators",
        f"RANK  {'ANNOTATOR':<{NAME_WIDTH}} TASKS  SCORE  95% CI        F1     ATTR   TOP CONFLICT",
    ]
    lines += [_line(row) for row in leaderboard.annotators]
    if not leaderboard.annotators:
        lines.append("   (no scored tasks)")
    lines.append(
        "Rank = 1 + annotators shown to be better (paired sign tests on shared items, Holm-corrected at "
        f"{leaderboard.alpha:.0%}); the same rank: cannot be told apart. Fewer than {leaderboard.min_tasks} tasks: "
        "not enough evidence."
    )
    lines += [f"  {g.words}" for g in leaderboard.groups]
    if leaderboard.open_errors:
        lines.append(f"{leaderboard.open_errors} task(s) could not be scored yet.")
    lines += [f"note: {n}" for n in leaderboard.notes]
    return "\n".join(lines) + "\n"
