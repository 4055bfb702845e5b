"""The consensus settings checked against the Production Project's workflow (resolve_stages): the review stage
and, for `archive`, the Archive stage; every error names what exists and which variable to set."""

from __future__ import annotations

from typing import Any

import pytest
from benchmark_qa.encord.actions import StageView
from benchmark_qa.encord.consensus import AfterScoring, ConsensusSetupError, ConsensusTarget, resolve_stages

STAGES = [
    StageView("Benchmark Task?", "s1", "AGENT", {"YES": "y", "NO": "n"}),
    StageView("Consensus 1", "s2", "CONSENSUS_REVIEW"),
    StageView("Annotate 1", "s3", "ANNOTATION"),
    StageView("Archive", "s4", "DONE"),
    StageView("Complete", "s5", "DONE"),
]


def target(**kwargs: Any) -> ConsensusTarget:
    return ConsensusTarget(production_project_hash="p", benchmark_project_hash="b", **kwargs)


def test_review_and_archive_stages_by_name_or_uuid() -> None:
    assert resolve_stages(STAGES, target()) == (STAGES[1], STAGES[3])
    assert resolve_stages(STAGES, target(review_stage="s2", archive_stage="s5")) == (STAGES[1], STAGES[4])


@pytest.mark.parametrize("after", [AfterScoring.REJECT, AfterScoring.NONE])
def test_no_archive_stage_is_needed_unless_archiving(after: AfterScoring) -> None:
    assert resolve_stages(STAGES, target(after_scoring=after, archive_stage="Nope")) == (STAGES[1], None)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"review_stage": "Consensus 2"},
            r"no workflow stage 'Consensus 2'; its consensus review stages are \['Consensus 1'\] .*REVIEW_STAGE",
        ),
        ({"review_stage": "Annotate 1"}, "is a ANNOTATION stage, not a consensus review stage; set REVIEW_STAGE"),
        (
            {"archive_stage": "Nope"},
            r"no workflow stage 'Nope' to move scored tasks to; its final stages are \['Archive', 'Complete'\].*"
            "AFTER_SCORING to reject or none",
        ),
        ({"archive_stage": "Consensus 1"}, "ARCHIVE_STAGE and REVIEW_STAGE are both 'Consensus 1'"),
    ],
)
def test_errors_name_what_exists(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConsensusSetupError, match=message):
        resolve_stages(STAGES, target(**settings))


# Encord names both stages of a consensus block after the block (encord-client-python PR #974 asks for
# get_stage(name="Consensus 1", type_=ConsensusAnnotationStage); the Benchmark QA docs' script for
# get_stage(name="Consensus 1", type_=ConsensusReviewStage)).
ANNOTATE = StageView("Consensus 1", "a1", "CONSENSUS_ANNOTATION")
REVIEW = StageView("Consensus 1", "r1", "CONSENSUS_REVIEW")
ARCHIVE = StageView("Archive", "f1", "DONE")


@pytest.mark.parametrize(
    "order", [[ANNOTATE, REVIEW, ARCHIVE], [REVIEW, ANNOTATE, ARCHIVE]], ids=["annotate-first", "review-first"]
)
def test_a_consensus_block_sharing_one_title_resolves_to_its_review_stage(order: list[StageView]) -> None:
    assert resolve_stages(order, target()) == (REVIEW, ARCHIVE)
    assert resolve_stages(order, target(review_stage="r1")) == (REVIEW, ARCHIVE)


def test_the_annotate_stage_by_uuid_is_still_refused() -> None:
    with pytest.raises(ConsensusSetupError, match="is a CONSENSUS_ANNOTATION stage, not a consensus review stage"):
        resolve_stages([ANNOTATE, REVIEW, ARCHIVE], target(review_stage="a1"))


def test_two_review_stages_with_one_title_ask_for_the_uuid() -> None:
    other = StageView("Consensus 1", "r2", "CONSENSUS_REVIEW")
    with pytest.raises(
        ConsensusSetupError, match=r"2 CONSENSUS_REVIEW stages are titled 'Consensus 1'.*uuid.*REVIEW_STAGE"
    ):
        resolve_stages([ANNOTATE, REVIEW, other, ARCHIVE], target())
    assert resolve_stages([ANNOTATE, REVIEW, other, ARCHIVE], target(review_stage="r2"))[0] == other


def test_an_archive_title_shared_with_another_kind_picks_the_final_stage() -> None:
    review_named_archive = StageView("Archive", "x1", "REVIEW")
    assert resolve_stages([review_named_archive, REVIEW, ARCHIVE], target()) == (REVIEW, ARCHIVE)
