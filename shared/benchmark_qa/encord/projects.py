"""Opening a project through the SDK, also when its workflow has stages the pinned SDK cannot build.

`client.get_project` builds the whole Workflow at once (encord/project.py:108-109), and SDK 0.1.211 builds
only six stage types: a router stage (USER_ROUTER, PERCENTAGE_ROUTER, both in the SDK's own enum,
encord/orm/workflow.py:21-43, and in Encord's workflow reference) raises AssertionError("Unknown stage
type", encord/workflow/workflow.py:60), so the project cannot be opened at all.

Routing and scoring never act on a router: tasks pass through routers, they do not wait in them. So on that
error the project is opened again with the SDK's own calls, exactly as `get_project` makes them
(encord/user_client.py:247-253), with the stages the SDK cannot build left out of the workflow it is given.
Everything else (stages by uuid, task listings, bundles, label rows) is the SDK's unchanged. If that fails too
(a later SDK moved those internals), the error says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmark_qa.observability import logger

if TYPE_CHECKING:
    from encord.project import Project
    from encord.user_client import EncordUserClient

# What encord/workflow/workflow.py:37-60 (_construct_stage) can build in SDK 0.1.211.
BUILDABLE_STAGE_TYPES = frozenset({"ANNOTATION", "REVIEW", "CONSENSUS_ANNOTATION", "CONSENSUS_REVIEW", "DONE", "AGENT"})
_UNKNOWN_STAGE = "Unknown stage type"


class UnreadableWorkflow(RuntimeError):
    """The project's workflow has stages the SDK cannot build, and reading it without them failed."""


@dataclass(frozen=True)
class LeftOut:
    """A workflow stage the SDK cannot build, left out of the project as opened."""

    title: str
    uuid: str
    kind: str


def open_project(client: EncordUserClient, project_hash: str) -> Project:
    """`client.get_project(project_hash)`; for a workflow with router stages, the same project without them."""
    try:
        return client.get_project(project_hash)
    except AssertionError as error:
        if _UNKNOWN_STAGE not in str(error):
            raise
        reason = str(error)
    try:
        project, left_out = _without_unbuildable_stages(client, project_hash)
    except Exception as error:
        raise UnreadableWorkflow(
            f"project {project_hash} has a workflow stage the encord SDK cannot build ({reason}; router stages "
            f"are the known case), and reading the project without it failed ({type(error).__name__}: {error}). "
            "Route tasks around the router in Encord, or upgrade the encord SDK once it builds router stages."
        ) from None
    logger.warning(
        "workflow stages the SDK cannot build were left out",
        extra={"project_hash": project_hash, "left_out": [s.__dict__ for s in left_out]},
    )
    return project


def _without_unbuildable_stages(client: EncordUserClient, project_hash: str) -> tuple[Project, list[LeftOut]]:
    from encord.client import EncordClientProject
    from encord.constants.string_constants import TYPE_PROJECT
    from encord.http.querier import Querier
    from encord.orm.workflow import WorkflowDTO
    from encord.project import Project

    config, api_client = client._config.config, client._api_client
    querier = Querier(config, resource_type=TYPE_PROJECT, resource_id=str(project_hash))
    project_client = EncordClientProject(querier=querier, config=config, api_client=api_client)
    project_orm = project_client.get_project_v2()
    stages = project_orm.workflow.stages if project_orm.workflow else []
    kept = [s for s in stages if str(s.stage_type.value) in BUILDABLE_STAGE_TYPES]
    left_out = [LeftOut(s.title, str(s.uuid), str(s.stage_type.value)) for s in stages if s not in kept]
    project_orm = project_orm.model_copy(update={"workflow": WorkflowDTO(stages=kept)})
    return Project(project_client, project_orm, client.get_ontology(project_orm.ontology_hash), api_client), left_out
