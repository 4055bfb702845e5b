"""The four renderings of one leaderboard: CSV parses back to the same rows, JSON is the model, the text shows the
ranking, and the HTML is one self-contained page with its charts inline."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest
from benchmark_qa.leaderboard import Leaderboard, build_leaderboard
from benchmark_qa_local.report import render_csv, render_html, render_json, render_text
from benchmark_qa_local.report.csv import COLUMNS
from benchmark_qa_local.report.html import BAR, BAR_UNRANKED, PLOT_W

from tests.unit.leaderboard.conftest import GENERATED, result

HOSTILE = 'eve, "the <script>alert(1)</script>"'


@pytest.fixture
def board() -> Leaderboard:
    """Three ranked annotators with clearly different scores over two days, and one with too few tasks."""
    results = []
    for day in ("2025-03-03", "2025-03-04"):
        at = f"{day}T10:00:00+00:00"
        for _ in range(3):
            results.append(
                result(
                    "alice",
                    0.9,
                    at=at,
                    classes={"Car": (9, 1, 0, 8.1), "Bus": (2, 0, 1, 1.5)},
                    attributes={"Car/colour": (8, 9)},
                    conflicts={"missing": 1},
                    hints=["missed Bus on 2 frames"],
                )
            )
            results.append(
                result("bob", 0.6, at=at, classes={"Car": (6, 3, 3, 4.2)}, conflicts={"extra": 3, "missing": 1})
            )
            results.append(result("carol", 0.3, at=at, classes={"Car": (3, 6, 6, 1.5)}, conflicts={"wrong_class": 2}))
    results.append(result(HOSTILE, 1.0, at="2025-03-04T12:00:00+00:00", attributes={"Car/colour": (1, 1)}))
    return build_leaderboard(results, min_tasks=6, generated_at=GENERATED, open_errors=2)


def test_the_fixture_has_three_ranked_and_one_unranked(board: Leaderboard) -> None:
    assert [(a.annotator, a.rank) for a in board.annotators] == [
        ("alice", 1),
        ("bob", 2),
        ("carol", 3),
        (HOSTILE, None),
    ]


# ---------------------------------------------------------------------------------------------------- CSV


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def _number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_csv_has_one_row_per_annotator_in_leaderboard_order(board: Leaderboard) -> None:
    rows = _csv_rows(render_csv(board))

    assert [r["annotator"] for r in rows] == [a.annotator for a in board.annotators]
    assert {r["row_type"] for r in rows} == {"annotator"}
    for row, annotator in zip(rows, board.annotators, strict=True):
        assert row["rank"] == ("" if annotator.rank is None else str(annotator.rank))
        assert row["status"] == annotator.status
        assert int(row["tasks"]) == annotator.tasks
        for name in ("score", "precision", "recall", "f1", "localisation", "attributes"):
            stat = getattr(annotator, name)
            assert _number(row[name]) == stat.value, name
            assert _number(row[f"{name}_low"]) == stat.low, name
            assert _number(row[f"{name}_high"]) == stat.high, name
            assert int(row[f"{name}_n"]) == stat.n, name
        assert (int(row["tp"]), int(row["fp"]), int(row["fn"])) == (annotator.tp, annotator.fp, annotator.fn)
        top = annotator.conflicts[0] if annotator.conflicts else None
        assert row["top_conflict"] == (top.name if top else "")


def test_csv_breakdown_adds_class_and_attribute_rows(board: Leaderboard) -> None:
    rows = _csv_rows(render_csv(board, breakdown=True))

    classes = [r for r in rows if r["row_type"] == "class"]
    attributes = [r for r in rows if r["row_type"] == "attribute"]
    assert len(rows) == len(board.annotators) + len(classes) + len(attributes)
    assert [(r["annotator"], r["class"]) for r in classes] == [
        (a.annotator, c.name) for a in board.annotators for c in a.classes
    ]
    assert [(r["annotator"], r["attribute"]) for r in attributes] == [
        (a.annotator, p.path) for a in board.annotators for p in a.attribute_paths
    ]
    by_key = {(a.annotator, c.name): c for a in board.annotators for c in a.classes}
    for row in classes:
        expected = by_key[(row["annotator"], row["class"])]
        assert (int(row["tp"]), int(row["fp"]), int(row["fn"])) == (expected.tp, expected.fp, expected.fn)
        assert _number(row["f1"]) == expected.f1.value
        assert row["score"] == "", "a class row has no task score"
    paths = {(a.annotator, p.path): p for a in board.annotators for p in a.attribute_paths}
    for row in attributes:
        expected_path = paths[(row["annotator"], row["attribute"])]
        assert _number(row["attributes"]) == expected_path.accuracy.value
        assert int(row["attributes_n"]) == expected_path.total


# ---------------------------------------------------------------------------------------------------- JSON


def test_json_is_the_model(board: Leaderboard) -> None:
    text = render_json(board)

    assert Leaderboard.model_validate_json(text) == board
    data = json.loads(text)
    assert [a["annotator"] for a in data["annotators"]] == [a.annotator for a in board.annotators]
    assert data["annotators"][-1]["rank"] is None
    assert data["annotators"][0]["score"]["n"] == board.annotators[0].tasks
    assert set(data["methods"]) >= {"score", "trend", "conflicts"}


# ---------------------------------------------------------------------------------------------------- text


def test_text_shows_the_ranking_in_order(board: Leaderboard) -> None:
    lines = render_text(board).splitlines()

    rows = [next(line for line in lines if a.annotator[:20] in line) for a in board.annotators]
    assert [lines.index(r) for r in rows] == sorted(lines.index(r) for r in rows), "in leaderboard order"
    for line, annotator in zip(rows, board.annotators, strict=True):
        assert line.split()[0] == (str(annotator.rank) if annotator.rank is not None else "-")
        assert f"{annotator.score.value:.3f}" in line
        assert str(annotator.tasks) in line.split()
    assert "not enough evidence" in rows[-1]
    carol = board.annotators[2]
    assert f"wrong_class ({2 * carol.tasks})" in rows[2], "the most frequent conflict, frames summed over tasks"
    assert any("2 task(s) could not be scored" in line for line in lines)
    assert any("fewer than 6 tasks" in line for line in lines)


def test_text_of_an_empty_leaderboard_says_so() -> None:
    assert "no scored tasks" in render_text(build_leaderboard([]))


def test_text_truncates_long_names_so_columns_stay_aligned() -> None:
    board = build_leaderboard([result("x" * 60, 0.5), result("short", 0.5)], min_tasks=1)
    lines = render_text(board).splitlines()[2:4]
    assert "x" * 60 not in lines[0]
    assert lines[0].index("0.500") == lines[1].index("0.500")


# ---------------------------------------------------------------------------------------------------- HTML


class Page(HTMLParser):
    """Every element with its attributes and the id of the innermost element with an id around it."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self.text: list[str] = []
        self._ids: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append(
            (tag, attributes, attributes.get("id") or next((i for i in reversed(self._ids) if i), None))
        )
        if tag not in {"meta", "br", "line", "rect", "path", "circle", "polyline"}:
            self._ids.append(attributes.get("id"))

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"meta", "br", "line", "rect", "path", "circle", "polyline"} and self._ids:
            self._ids.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def within(self, element_id: str, tag: str) -> list[dict[str, str]]:
        return [a for t, a, inside in self.elements if t == tag and inside == element_id]


def _page(board: Leaderboard) -> tuple[str, Page]:
    text = render_html(board)
    page = Page()
    page.feed(text)
    return text, page


def test_html_is_self_contained(board: Leaderboard) -> None:
    text, page = _page(board)

    assert "http://" not in text
    assert "https://" not in text
    assert "//" not in text.replace("://", ""), "no protocol-relative URLs either"
    tags = [tag for tag, _, _ in page.elements]
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags)
    assert all("src" not in attributes and "href" not in attributes for _, attributes, _ in page.elements)
    assert "url(" not in text
    assert "@import" not in text
    policy = next(a["content"] for t, a, _ in page.elements if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in policy


def test_html_score_chart_is_inline_svg_with_one_bar_per_annotator(board: Leaderboard) -> None:
    _, page = _page(board)

    bars = [a for a in page.within("score-chart", "rect") if "score-bar" in a.get("class", "")]
    assert [b["data-annotator"] for b in bars] == [a.annotator for a in board.annotators]
    for bar, annotator in zip(bars, board.annotators, strict=True):
        assert annotator.score.value is not None
        assert int(bar["width"]) == round(annotator.score.value * PLOT_W)
        assert bar["fill"] == (BAR if annotator.rank is not None else BAR_UNRANKED)
    widths = [int(b["width"]) for b in bars[:3]]
    assert widths == sorted(widths, reverse=True)
    assert len(page.within("score-chart", "path")) == len(board.annotators), "one interval whisker each"


def test_html_has_the_heatmap_trend_and_tables(board: Leaderboard) -> None:
    _, page = _page(board)

    svg_ids = {a.get("id") for t, a, _ in page.elements if t == "svg"}
    assert svg_ids == {"score-chart", "class-heatmap", "trend-chart"}
    cells = page.within("class-heatmap", "rect")
    assert len(cells) == len(board.annotators) * len(board.classes)
    with_two_days = [a for a in board.annotators if len(a.trend) > 1]
    assert len(page.within("trend-chart", "polyline")) == len(with_two_days)
    assert len(page.within("trend-chart", "circle")) == sum(len(a.trend) for a in board.annotators)
    summary = [a for a in page.within("summary", "tr") if "data-annotator" in a]
    assert [(r["data-annotator"], r["data-rank"]) for r in summary] == [
        (a.annotator, str(a.rank or "")) for a in board.annotators
    ]
    text = "".join(page.text)
    alice, bob = board.annotators[:2]
    assert f"extra ({3 * bob.tasks})" in text
    assert f"missed Bus ({alice.tasks} tasks)" in text, "the hint, once per task"
    assert "Car/colour" in text
    assert board.ranking_rule in text
    assert "2 task(s) could not be scored" in text


def test_html_escapes_annotator_names(board: Leaderboard) -> None:
    text, page = _page(board)
    assert "<script>" not in text
    assert HOSTILE in "".join(page.text)


def test_html_of_an_empty_leaderboard_still_renders() -> None:
    text, page = _page(build_leaderboard([]))
    assert "No scored tasks." in text
    assert page.within("score-chart", "rect") == []
