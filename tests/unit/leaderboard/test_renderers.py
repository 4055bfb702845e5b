"""The four renderings of one leaderboard: CSV parses back to the same rows, JSON is the model, the text shows the
ranking, and the HTML is one self-contained page with its charts inline."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest
from benchmark_qa.leaderboard import EditorLinks, Leaderboard, build_leaderboard
from benchmark_qa.leaderboard.csv import COLUMNS, render_csv
from benchmark_qa.leaderboard.html import BAR, BAR_UNRANKED, SECTIONS, render_html
from benchmark_qa.leaderboard.json import render_json
from benchmark_qa.leaderboard.text import render_text
from benchmark_qa.scoring.conflicts import Conflict
from benchmark_qa.task_details import ChoiceCount, SizeCounts, TaskDetails

from tests.unit.leaderboard.conftest import GENERATED, result

HOSTILE = 'eve, "the <script>alert(1)</script>"'


DETAILS = TaskDetails(
    confusion={"Car": {"Car": 8, "Truck": 1}, "Truck": {"unmatched": 1}, "unmatched": {"Car": 1}},
    sizes={"small": SizeCounts(tp=1, fn=2, fp=0), "large": SizeCounts(tp=7, fn=0, fp=1)},
    choices=[ChoiceCount(path="Car/colour", truth="red", labels="blue", frames=1)],
    worst=[
        Conflict(
            kind="wrong_class",
            severity="error",
            data_unit="unit",
            frame=3,
            frame_last=3,
            frames=1,
            truth_hash="gtCar001",
            labels_hash="anCar001",
            truth_value="Car",
            labels_value="Truck",
            similarity=0.81,
            hint="confused Car and Truck",
        )
    ],
)


@pytest.fixture
def board() -> Leaderboard:
    """Three ranked annotators with clearly different scores on the same 8 items over two days, and one with too
    few tasks. 8 shared items, every one won: p = 2/256 per pair, below 5% after Holm over three pairs."""
    results = []
    for day in ("2025-03-03", "2025-03-04"):
        at = f"{day}T10:00:00+00:00"
        for k in range(4):
            item = f"item-{day}-{k}"
            results.append(
                result(
                    "alice",
                    0.9,
                    at=at,
                    classes={"Car": (9, 1, 0, 8.1), "Bus": (2, 0, 1, 1.5)},
                    attributes={"Car/colour": (8, 9)},
                    conflicts={"missing": 1},
                    hints=["missed Bus on 2 frames"],
                    item=item,
                    details=DETAILS,
                )
            )
            results.append(
                result(
                    "bob", 0.6, at=at, classes={"Car": (6, 3, 3, 4.2)}, conflicts={"extra": 3, "missing": 1}, item=item
                )
            )
            results.append(
                result("carol", 0.3, at=at, classes={"Car": (3, 6, 6, 1.5)}, conflicts={"wrong_class": 2}, item=item)
            )
    results.append(result(HOSTILE, 1.0, at="2025-03-04T12:00:00+00:00", attributes={"Car/colour": (1, 1)}))
    return build_leaderboard(
        results,
        min_tasks=8,
        generated_at=GENERATED,
        open_errors=2,
        links=EditorLinks("https://app.encord.com", "benchmark-project"),
        hourly_rate=30.0,
    )


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


def test_csv_breakdown_adds_class_attribute_size_confusion_and_choice_rows(board: Leaderboard) -> None:
    rows = _csv_rows(render_csv(board, breakdown=True))

    kinds = {r["row_type"] for r in rows}
    assert kinds == {"annotator", "class", "attribute", "size", "confusion", "choice"}
    classes = [r for r in rows if r["row_type"] == "class"]
    assert [(r["annotator"], r["class"]) for r in classes] == [
        (a.annotator, c.name) for a in board.annotators for c in a.classes
    ]
    by_key = {(a.annotator, c.name): c for a in board.annotators for c in a.classes}
    for row in classes:
        expected = by_key[(row["annotator"], row["class"])]
        assert (int(row["tp"]), int(row["fp"]), int(row["fn"])) == (expected.tp, expected.fp, expected.fn)
        assert _number(row["f1"]) == expected.f1.value
        assert row["score"] == "", "a class row has no task score"
    paths = {(a.annotator, p.path): p for a in board.annotators for p in a.attribute_paths}
    for row in (r for r in rows if r["row_type"] == "attribute"):
        expected_path = paths[(row["annotator"], row["attribute"])]
        assert _number(row["attributes"]) == expected_path.accuracy.value
        assert int(row["attributes_n"]) == expected_path.total
    alice = board.annotators[0]
    sizes = {r["class"]: r for r in rows if r["row_type"] == "size" and r["annotator"] == "alice"}
    assert (int(sizes["small"]["tp"]), int(sizes["small"]["fn"])) == (8, 16), "summed over alice's 8 tasks"
    assert _number(sizes["small"]["recall"]) == pytest.approx(1 / 3)
    confusion = {(r["truth"], r["annotated"]): int(r["count"]) for r in rows if r["row_type"] == "confusion"}
    assert confusion[("Car", "Truck")] == 8 * 1
    assert confusion[("unmatched", "Car")] == 8
    [choice] = [r for r in rows if r["row_type"] == "choice"]
    assert (choice["attribute"], choice["truth"], choice["annotated"], choice["count"]) == (
        "Car/colour",
        "red",
        "blue",
        "8",
    )
    assert alice.confusion, "precondition: the breakdowns reached the board"


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
    assert any("Fewer than 8 tasks" in line for line in lines)
    assert any(line.strip().startswith("Rank 1: alice") for line in lines), "the ranks in words"


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


ENCORD_LINK = re.compile(r"^https://app\.encord\.com/label_editor/[^/]+/[^/]+/\d+(\?objectHash=\w+)?$")


def test_html_is_self_contained(board: Leaderboard) -> None:
    text, page = _page(board)

    tags = [tag for tag, _, _ in page.elements]
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags)
    assert all("src" not in attributes for _, attributes, _ in page.elements)
    links = [a["href"] for t, a, _ in page.elements if t == "a"]
    assert links, "the drill-down links into Encord"
    outside = [h for h in links if not h.startswith("#")]
    assert outside, "precondition: links into the label editor"
    assert all(ENCORD_LINK.match(h) for h in outside), [h for h in outside if not ENCORD_LINK.match(h)]
    assert "url(" not in text
    assert "@import" not in text
    policy = next(a["content"] for t, a, _ in page.elements if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in policy


def test_html_score_chart_has_one_bar_per_annotator_in_order(board: Leaderboard) -> None:
    _, page = _page(board)

    bars = [a for a in page.within("score-chart", "div") if "score-bar" in a.get("class", "")]
    assert [b["data-annotator"] for b in bars] == [a.annotator for a in board.annotators]
    for bar, annotator in zip(bars, board.annotators, strict=True):
        assert annotator.score.value is not None
        width = float(re.search(r"width:([\d.]+)%", bar["style"]).group(1))  # type: ignore[union-attr]
        assert width == pytest.approx(annotator.score.value * 100, abs=0.01)
        assert f"background:{BAR if annotator.rank is not None else BAR_UNRANKED}" in bar["style"]
    whiskers = [a for a in page.within("score-chart", "div") if a.get("class") == "whisker"]
    assert len(whiskers) == len(board.annotators), "one interval whisker each"


def test_html_has_every_section_and_one_small_chart_per_annotator(board: Leaderboard) -> None:
    _text, page = _page(board)

    sections = [a["id"] for t, a, _ in page.elements if t == "section"]
    assert sections == [ident for ident, _, _ in SECTIONS]
    figures = page.within("trend-multiples", "figure")
    assert [f["data-annotator"] for f in figures] == [a.annotator for a in board.annotators]
    own = [a for t, a, _ in page.elements if t == "polyline" and a.get("class") == "own"]
    assert len(own) == len(board.annotators)
    summary = [a for a in page.within("summary", "tr") if "data-annotator" in a]
    assert [(r["data-annotator"], r["data-rank"]) for r in summary] == [
        (a.annotator, str(a.rank or "")) for a in board.annotators
    ]
    assert len(page.within("class-heatmap", "tr")) == len(board.annotators) + 1
    drill = [a for t, a, _ in page.elements if t == "details" and "data-annotator" in a]
    assert [d["data-annotator"] for d in drill] == [a.annotator for a in board.annotators]
    words = "".join(page.text)
    alice, bob = board.annotators[:2]
    assert f"missed Bus ({alice.tasks} tasks)" in words, "the hint, once per task"
    assert f"extra: {3 * bob.tasks} frames" in words
    assert "Car/colour" in words
    assert "red → blue" in words, "the radio answer, benchmark to given"
    assert board.ranking_rule in words
    assert "2 task(s) could not be scored" in words
    for group in board.groups:
        assert group.words in words


def test_html_drill_down_links_each_conflict_to_its_frame_and_object(board: Leaderboard) -> None:
    text, _ = _page(board)
    task = board.annotators[0].worst[0]
    assert task.editor_url == f"https://app.encord.com/label_editor/project/{task.data_hash}/0"
    link = task.conflicts[0]
    assert link.editor_url == f"https://app.encord.com/label_editor/project/{task.data_hash}/3?objectHash=anCar001"
    assert link.truth_url == (
        f"https://app.encord.com/label_editor/benchmark-project/{task.data_hash}/3?objectHash=gtCar001"
    )
    assert (link.truth, link.annotated) == ("Car", "Truck")
    assert f"href='{link.editor_url}'" in text
    assert f"href='{link.truth_url}'" in text


def test_html_escapes_annotator_names(board: Leaderboard) -> None:
    text, page = _page(board)
    assert "<script>" not in text
    assert HOSTILE in "".join(page.text)


def test_html_of_an_empty_leaderboard_still_renders() -> None:
    text, page = _page(build_leaderboard([]))
    assert "No scored tasks." in text
    assert [a for a in page.within("score-chart", "div") if "score-bar" in a.get("class", "")] == []
