"""Is the Production Project's workflow one the stack can run? Checked with the product's own stage resolution
(routing.resolve_stage for the agent stage, consensus.resolve_stages for the review and archive stages), so
setup and doctor report exactly what RouteFunction and ScoreFunction would refuse, in their words.

Encord names both stages of a consensus block after the block ("Consensus 1"); the product resolves a stage by
title and kind (the fidelity issue), so the check expects that and does not ask for renamed stages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmark_qa.encord.actions import StageView, stage_views
from benchmark_qa.encord.consensus import (
    FINAL_KIND,
    AfterScoring,
    ConsensusSetupError,
    ConsensusTarget,
    resolve_stages,
)
from benchmark_qa.encord.routing import RoutingSetupError, RoutingTarget, resolve_stage

from benchmark_qa_local.setup.config import WorkflowNames

CONSENSUS_ANNOTATION_KIND = "CONSENSUS_ANNOTATION"


def workflow_problems(project_hash: str, stages: Sequence[Any], names: WorkflowNames) -> list[str]:
    """What is wrong with the workflow (the SDK's `project.workflow.stages`) for these names; [] when nothing."""
    views = stage_views(stages)
    problems: list[str] = []
    agent: StageView | None = None
    try:
        agent = resolve_stage(
            views,
            RoutingTarget(
                project_hash=project_hash,
                benchmark_dataset_hash="",  # not needed to resolve the stage
                stage=names.agent_stage,
                yes_pathway=names.yes_pathway,
                no_pathway=names.no_pathway,
            ),
        )
    except RoutingSetupError as error:
        problems.append(str(error))
    try:
        _, archive = resolve_stages(
            views,
            ConsensusTarget(
                production_project_hash=project_hash,
                benchmark_project_hash="",  # not needed to resolve the stages
                review_stage=names.review_stage,
                archive_stage=names.archive_stage,
                after_scoring=AfterScoring(names.after_scoring),
            ),
        )
    except ConsensusSetupError as error:
        problems.append(str(error))
        archive = None
    if archive is not None and archive.kind != FINAL_KIND:
        problems.append(
            f"stage {archive.title!r} is a {archive.kind} stage, not a final stage: scored tasks moved there would "
            "be worked on again. Set ArchiveStage to the workflow's Archive (final) stage."
        )
    if agent is not None:
        problems += _yes_leads_to_consensus(stages, views, agent, names.yes_pathway)
    return problems


def _yes_leads_to_consensus(
    stages: Sequence[Any], views: Sequence[StageView], agent: StageView, yes_pathway: str
) -> list[str]:
    sdk_agent = next(s for s in stages if str(s.uuid) == agent.uuid)
    destination = next((str(p.destination_uuid) for p in sdk_agent.pathways if p.name == yes_pathway), None)
    target = next((v for v in views if v.uuid == destination), None)
    if target is None or target.kind == CONSENSUS_ANNOTATION_KIND:
        return []
    return [
        f"pathway {yes_pathway!r} of {agent.title!r} leads to {target.title!r} ({target.kind}), not to a consensus "
        "block: benchmark tasks would never be labelled by several annotators. Point it at the consensus block "
        "in the Production workflow template."
    ]
