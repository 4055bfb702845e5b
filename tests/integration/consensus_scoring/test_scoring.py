"""ScoreFunction on its schedule (inline for a small stage) against the Encord double and the stack on moto server:
results per (task, annotator), aggregates, the task moved on, re-runs, recorded errors and feedback comments."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from benchmark_qa.store.table import state_table
from benchmark_qa_local.encord_double.box_rows import TRUTH_BOXES, label_row, precise_boxes, sloppy_boxes

from .conftest import PRECISE, SLOPPY, App, put_in_review, put_video_in_review, start_app

pytestmark = pytest.mark.integration


def structure_of(app: App) -> dict[str, Any]:
    with app.double.locked() as state:
        return state.ontologies[app.setup.ontology_hash].structure


def precise_and_sloppy(app: App) -> dict[str, Any]:
    structure = structure_of(app)
    return {
        PRECISE: lambda dh, a: label_row(structure, dh, precise_boxes(), "good", author=a),
        SLOPPY: lambda dh, a: label_row(structure, dh, sloppy_boxes(), "bad", author=a),
    }


def score(app: App) -> dict[str, Any]:
    result = app.invoker.invoke("ScoreFunction", {})
    payload: dict[str, Any] = result.raise_for_error()
    return payload


def test_scores_every_branch_once_and_archives_the_tasks(app: App) -> None:
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=precise_and_sloppy(app))

    first = score(app)

    assert first["mode"] == "inline"
    assert first["counts"]["results_written"] == 6
    results = list(app.scores.results())
    assert {(r.task_uuid, r.annotator) for r in results} == {(t, a) for t in seeded.tasks for a in (PRECISE, SLOPPY)}
    for result in results:
        assert result.label_hash == seeded.label_hashes[(result.task_uuid, result.annotator)]
    by_task: dict[str, dict[str, float]] = {}
    for result in results:
        by_task.setdefault(result.task_uuid, {})[result.annotator] = result.score
    assert all(s[PRECISE] > 0.9 for s in by_task.values()), by_task
    assert all(s[SLOPPY] < 0.6 for s in by_task.values()), by_task
    sloppy = next(r for r in results if r.annotator == SLOPPY)
    assert sloppy.conflict_totals.get("missing", 0) >= 1
    assert sloppy.classes["Box"].fn >= 1
    assert sloppy.hints, "a sloppy branch gets hints"
    aggregates = {a.annotator: a for a in app.scores.aggregates()}
    assert aggregates[PRECISE].tasks == aggregates[SLOPPY].tasks == 3
    assert aggregates[PRECISE].score_sum > aggregates[SLOPPY].score_sum
    assert aggregates[PRECISE].tp == 9
    sloppy_conflicts: Counter[str] = Counter()
    for result in results:
        if result.annotator == SLOPPY:
            sloppy_conflicts.update(result.conflict_totals)
    assert aggregates[SLOPPY].conflicts == dict(sloppy_conflicts), "counted in each result's transaction"
    assert {app.stage_of()[t] for t in seeded.tasks} == {"Archive"}
    assert app.scores.errors() == []

    again = score(app)

    assert again["stage_tasks"] == 0
    assert len(list(app.scores.results())) == 6
    assert {a.annotator: a.tasks for a in app.scores.aggregates()} == {PRECISE: 3, SLOPPY: 3}


def test_a_run_that_stopped_before_moving_only_moves_next_time(app: App) -> None:
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=precise_and_sloppy(app))
    app.set_env(AFTER_SCORING="none")  # scores, moves nothing: as if the run died before acting
    score(app)
    assert {app.stage_of()[t] for t in seeded.tasks} == {"Consensus 1"}
    app.set_env(AFTER_SCORING="archive")
    app.double.counts.reset()

    resumed = score(app)

    assert resumed["counts"]["status:already_scored"] == 3
    assert resumed["counts"]["results_written"] == 0
    assert app.double.counts.get("v1 labelrow GET") == 0, "scored tasks are not fetched again"
    assert {app.stage_of()[t] for t in seeded.tasks} == {"Archive"}
    assert {a.annotator: a.tasks for a in app.scores.aggregates()} == {PRECISE: 3, SLOPPY: 3}


def test_reject_follows_the_reject_edge(app: App) -> None:
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes[:1], branches=precise_and_sloppy(app))
    app.set_env(AFTER_SCORING="reject")

    assert score(app)["counts"]["action:done"] == 1

    assert {app.stage_of()[t] for t in seeded.tasks} == {"Archive"}  # the docs' workflow: reject -> Archive


def test_missing_truth_empty_branch_and_unknown_class_are_recorded_and_the_tasks_stay(app: App) -> None:
    structure = structure_of(app)
    no_truth, empty, unknown = app.setup.benchmark_data_hashes
    branches = precise_and_sloppy(app)
    with app.double.locked() as state:
        a = put_in_review(state, app.setup, [no_truth], branches=branches, truth=False)
        b = put_in_review(state, app.setup, [empty], branches={PRECISE: branches[PRECISE], SLOPPY: None})
        c = put_in_review(
            state,
            app.setup,
            [unknown],
            branches={
                PRECISE: branches[PRECISE],
                SLOPPY: lambda dh, who: label_row(structure, dh, TRUTH_BOXES, "good", author=who, feature_hash="f00"),
            },
        )
    task_of = {dh: t for seeded in (a, b, c) for t, dh in seeded.tasks.items()}

    payload = score(app)

    assert payload["counts"]["status:error"] == 3
    errors = {e["task_uuid"]: e for e in app.scores.errors()}
    assert set(errors) == set(task_of.values())
    missing = errors[task_of[no_truth]]
    assert no_truth in missing["reason"]
    assert "no ground-truth label row" in missing["reason"]
    assert "Benchmark Project" in missing["reason"]
    blank = errors[task_of[empty]]
    assert blank["annotator"] == SLOPPY
    assert "has no label row" in blank["reason"]
    assert empty in blank["reason"]
    mismatch = errors[task_of[unknown]]
    assert mismatch["annotator"] == SLOPPY
    assert "does not match the ontology" in mismatch["reason"]
    assert "f00" in mismatch["reason"]
    assert list(app.scores.results()) == [], "a task with a problem is scored as a whole or not at all"
    assert {app.stage_of()[t] for t in task_of.values()} == {"Consensus 1"}
    with app.double.locked() as state:  # reading never created a label row for the empty branch
        rows = state.projects[app.setup.production_project_hash].label_rows.values()
        assert sum(1 for r in rows if r.data_hash == empty) == 1

    # The ground truth is added in Encord: the next run scores the task and clears its error.
    with app.double.locked() as state:
        from benchmark_qa_local.encord_double.labels import put_label_row

        truth = label_row(structure, no_truth, TRUTH_BOXES, "good")
        put_label_row(state, app.setup.benchmark_project_hash, no_truth, labels=truth)
    score(app)

    assert task_of[no_truth] not in {e["task_uuid"] for e in app.scores.errors()}
    assert app.stage_of()[task_of[no_truth]] == "Archive"
    assert len(app.scores.results_of_task(task_of[no_truth])) == 2


@pytest.fixture
def other_ontology_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from start_app(monkeypatch)


def test_projects_with_different_ontologies_are_recorded_per_task(other_ontology_app: App) -> None:
    app = other_ontology_app
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes[:2], branches=precise_and_sloppy(app))
        from benchmark_qa_local.encord_double.seed import standard_ontology
        from benchmark_qa_local.encord_double.state import Ontology

        other_hash = "0c1b4f6e-0000-4000-8000-00000000abcd"
        other = Ontology(ontology_hash=other_hash, title="other", structure=standard_ontology())
        state.ontologies[other.ontology_hash] = other
        state.projects[app.setup.benchmark_project_hash].ontology_hash = other.ontology_hash
    app.double.counts.reset()

    payload = score(app)

    assert payload["counts"]["status:error"] == 2
    reasons = [e["reason"] for e in app.scores.errors()]
    assert all("same ontology" in r and app.setup.benchmark_project_hash in r for r in reasons)
    assert app.double.counts.get("v1 labelrow GET") == 0
    assert {app.stage_of()[t] for t in seeded.tasks} == {"Consensus 1"}


def test_feedback_comments_carry_hints_once_and_never_the_ground_truth(app: App) -> None:
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes[:2], branches=precise_and_sloppy(app))
    app.set_env(COMMENT_FEEDBACK="true", AFTER_SCORING="none")

    payload = score(app)
    score(app)  # a second run must not comment again

    assert payload["counts"]["feedback_posted"] == 4
    comments = app.comments()
    assert len(comments) == 4
    assert sum(1 for c in comments if SLOPPY in c) == 2
    sloppy = [c for c in comments if SLOPPY in c]
    assert all("To improve:" in c for c in sloppy)
    truth_values = [f"{v:.2f}" for box in TRUTH_BOXES for v in box] + ["good"]
    truth_values += [f"{v}" for box in TRUTH_BOXES for v in box]
    for comment in comments:
        hints = comment.split("To improve:")[-1]
        assert not any(value in hints for value in truth_values), comment
    with app.double.locked() as state:
        assert {i.data_hash for i in state.issues} == set(seeded.tasks.values())


def test_a_result_clears_its_tasks_error_in_its_own_transaction(app: App) -> None:
    """put_result writes the result, the aggregates, the conflict counts and the error's removal in one request;
    a repeat writes nothing (the error stays for the caller to clear); older totals' conflict maps still count."""
    with app.double.locked() as state:
        put_in_review(state, app.setup, app.setup.benchmark_data_hashes[:1], branches=precise_and_sloppy(app))
    score(app)
    result = next(r for r in app.scores.results() if r.annotator == SLOPPY)
    other = result.model_copy(update={"label_hash": "another-label-hash"})
    app.scores.record_error(result.task_uuid, reason="unreadable")
    assert app.scores.put_result(other, clear_error=True) is True
    assert app.scores.errors() == []
    app.scores.record_error(result.task_uuid, reason="unreadable")
    assert app.scores.put_result(other, clear_error=True) is False
    assert [e["task_uuid"] for e in app.scores.errors()] == [result.task_uuid]
    table = state_table(app.stack.physical_id("StateTable"), app.stack.region)
    table.update_item(
        Key={"pk": f"AGGREGATE#{SLOPPY}", "sk": "TOTAL"},
        UpdateExpression="SET conflicts = :legacy",
        ExpressionAttributeValues={":legacy": {"missing": 5}},
    )
    sloppy = next(a for a in app.scores.aggregates() if a.annotator == SLOPPY)
    assert sloppy.conflicts["missing"] == 5 + 2 * result.conflict_totals["missing"]


def test_a_message_reads_and_scores_one_task_at_a_time(app: App) -> None:
    """Issue 11: every task's rows of a message were read before any was scored (50 tasks of long videos: out of
    memory). The rows are listed in bulk, then read one task at a time: one bundled read per task."""
    with app.double.locked() as state:
        put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=precise_and_sloppy(app))
    app.double.counts.reset()

    payload = score(app)

    assert payload["counts"]["results_written"] == 6
    # per task: one bundled read of its branch rows and one of its truth row (before: 2 for the whole batch)
    assert app.double.counts.get("v1 labelrow GET") == 2 * 3
    assert app.double.counts.get("v1 labelrowmetadata GET") == 2, "listed in bulk: one call per project"


def test_long_rows_are_read_one_at_a_time_and_score_as_the_rows_encord_sends(app: App) -> None:
    """A read hands its rows over as dicts all at once (276 MiB for a 10,000-frame row with 20 boxes a frame), and
    a task's rows were read in one request per project: a long video task held four rows of dicts. Rows that
    together label more than FRAMES_PER_READ frames (the listing's number_of_frames) are now read one at a time
    and kept as JSON; each branch still scores exactly as the engine scores the dicts Encord sends."""
    from benchmark_qa.encord.consensus import FRAMES_PER_READ
    from benchmark_qa.scoring import Ontology, score_label_rows

    seeded = put_video_in_review(app, (PRECISE, SLOPPY), FRAMES_PER_READ, 2)
    app.double.counts.reset()

    payload = score(app)

    assert payload["counts"]["results_written"] == 2
    # the truth (Benchmark Project), then each branch on its own: two rows of FRAMES_PER_READ frames exceed it
    assert app.double.counts.get("v1 labelrow GET") == 3
    client = app.client()
    production = client.get_project(app.setup.production_project_hash)
    benchmark = client.get_project(app.setup.benchmark_project_hash)
    ontology = Ontology.from_dict(structure_of(app))
    [data_hash] = set(seeded.tasks.values())
    [truth] = benchmark.list_label_rows_v2(data_hashes=[data_hash])
    [truth_row] = benchmark.get_label_rows([str(truth.label_hash)], get_signed_url=False)
    results = list(app.scores.results())
    assert {r.annotator for r in results} == {PRECISE, SLOPPY}
    for result in results:
        [row] = production.get_label_rows([result.label_hash], get_signed_url=False)
        assert result.score == score_label_rows(ontology, truth_row, row).score
    assert {r.annotator: r.score for r in results}[PRECISE] > {r.annotator: r.score for r in results}[SLOPPY]


def test_rows_as_encord_sends_them_score_as_the_sdk_objects_do(app: App) -> None:
    """The worker reads label rows with `Project.get_label_rows` (the dicts Encord sends) instead of building
    LabelRowV2 objects with `initialise_labels` and `to_encord_dict()` back: each branch's report is the same
    either way, and reading asks for each row once."""
    from benchmark_qa.encord.consensus import Row, _read_rows
    from benchmark_qa.scoring import Ontology, score_label_rows

    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=precise_and_sloppy(app))
    client = app.client()
    production = client.get_project(app.setup.production_project_hash)
    benchmark = client.get_project(app.setup.benchmark_project_hash)
    ontology = Ontology.from_dict(structure_of(app))
    compared = 0
    for data_hash in sorted(set(seeded.tasks.values())):
        [truth] = benchmark.list_label_rows_v2(data_hashes=[data_hash])
        listed = production.list_label_rows_v2(data_hashes=[data_hash], include_all_label_branches=True)
        branches = [r for r in listed if r.label_hash and r.branch_name != "main"]
        assert len(branches) == 2
        read: dict[str, Row] = {}
        wanted = [(benchmark, [str(truth.label_hash)]), (production, [str(r.label_hash) for r in branches])]
        app.double.counts.reset()
        _read_rows(wanted, {}, read)
        assert app.double.counts.total() == 2  # one read per project
        _read_rows(wanted, {}, read)  # a retry asks for nothing already read
        assert app.double.counts.total() == 2
        assert set(read) == {str(truth.label_hash), *(str(r.label_hash) for r in branches)}
        truth.initialise_labels()
        for row in branches:
            row.initialise_labels()
            as_sent = score_label_rows(ontology, read[str(truth.label_hash)], read[str(row.label_hash)])
            as_objects = score_label_rows(ontology, truth.to_encord_dict(), row.to_encord_dict())
            assert as_sent.model_dump() == as_objects.model_dump()
            compared += 1
    assert compared == 2 * len(set(seeded.tasks.values()))
