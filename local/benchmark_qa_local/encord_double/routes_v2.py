"""v2 REST routes (`/v2/public/<path>`, camelCase JSON). Each handler parses the wire format, calls the
state machine, and shapes the reply after the SDK DTO named in its docstring."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import analytics, issues, labels, storage, uploads, workflow
from .errors import invalid, not_found
from .messages import HttpReply, HttpRequest
from .state import DoubleState, Project, StageType

Handler = Callable[[DoubleState, dict[str, str], HttpRequest], HttpReply]
PREFIX = "/v2/public/"


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


def _page(results: list[Any], token: str | None = None) -> HttpReply:
    """encord.http.v2.payloads.Page"""
    return HttpReply(200, {"results": results, "nextPageToken": token})


def _stage_json(project: Project) -> list[dict[str, Any]]:
    out = []
    for stage in project.workflow.stages:
        node: dict[str, Any] = {"stageType": stage.stage_type.value, "uuid": stage.uuid, "title": stage.title}
        if stage.stage_type is StageType.AGENT:
            node["pathways"] = [
                {"uuid": p.uuid, "title": p.name, "destinationUuid": p.destination_uuid} for p in stage.pathways
            ]
        out.append(node)
    return out


def get_project(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.project.ProjectDTO (enums are strict: 'workflow', 'inProgress', userRole int)."""
    project = workflow.get_project(state, p["project"])
    ontology = state.ontologies.get(project.ontology_hash)
    return HttpReply(
        200,
        {
            "projectHash": project.project_hash,
            "projectType": "workflow",
            "status": "inProgress",
            "title": project.title,
            "description": project.description,
            "createdAt": project.created_at.isoformat(),
            "creatorEmail": state.settings.user_email,
            "lastEditedAt": project.created_at.isoformat(),
            "ontologyHash": project.ontology_hash,
            "editorOntology": ontology.structure if ontology else {},
            "userRole": 0,
            "sourceProjects": None,
            "workflowManagerUuid": project.workflow_manager_uuid,
            "workflow": {"stages": _stage_json(project)},
        },
    )


def get_ontology(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.utilities.ontology_user.OntologyWithUserRole"""
    ontology = state.ontologies.get(p["ontology"])
    if ontology is None:
        raise not_found(f"Ontology {p['ontology']} not found")
    return HttpReply(
        200,
        {
            "ontologyUuid": ontology.ontology_hash,
            "title": ontology.title,
            "description": ontology.description,
            "editor": ontology.structure,
            "createdAt": ontology.created_at.isoformat(),
            "lastEditedAt": ontology.created_at.isoformat(),
            "userRole": 0,
        },
    )


def list_project_datasets(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """Page[encord.orm.project.ProjectDataset]"""
    project = workflow.get_project(state, p["project"])
    return _page(
        [
            {"datasetHash": d.dataset_hash, "title": d.title, "description": d.description}
            for h in project.dataset_hashes
            if (d := state.datasets.get(h)) is not None
        ]
    )


def list_tasks(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """Page[AgentTask | AnnotationTask | ReviewTask | ConsensusReviewTask | ...]; lists are repeated keys."""
    project = workflow.get_project(state, p["project"])
    filters = workflow.TaskFilters(
        user_emails=req.query.get("userEmails", []),
        data_hashes=req.query.get("dataHashes", []),
        dataset_hashes=req.query.get("datasetHashes", []),
        data_title_contains=req.first("dataTitleContains"),
        statuses=req.query.get("statuses", []),
    )
    tasks, token = workflow.list_tasks(state, project, p["stage"], filters, req.first("pageToken"))
    return _page([workflow.task_json(state, project, t) for t in tasks], token)


def post_actions(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """[_ActionPathway | _ActionApprove | _ActionReject | _ActionAssign | _ActionRelease | _ActionSubmit]"""
    body = req.json()
    if not isinstance(body, list):
        raise invalid("Expected a list of actions")
    workflow.apply_actions(state, workflow.get_project(state, p["project"]), p["stage"], body)
    return HttpReply(204, empty=True)


def move_tasks(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.workflow.common.WorkflowMoveTasksRequest"""
    body = req.json() or {}
    project = workflow.get_project(state, p["project"])
    task_uuids = [str(u) for u in body.get("taskUuids") or []]
    workflow.move_tasks(state, project, p["stage"], str(body.get("destinationStageUuid")), task_uuids)
    return HttpReply(204, empty=True)


def add_issues(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.issues.issue_client._CreateIssuesPayload"""
    issues.add_issues(state, workflow.get_project(state, p["project"]), req.json() or {})
    return HttpReply(204, empty=True)


def list_issues(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """Page[encord.issues.issue_client.Issue]"""
    project = workflow.get_project(state, p["project"])
    data_hash = req.first("dataUnitId") or ""
    return _page([issues.issue_json(i) for i in issues.issues_of(state, project.project_hash, data_hash)])


def list_branches(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """Page[encord.orm.project.ProjectBranchResult]"""
    project = workflow.get_project(state, p["project"])
    return _page([{"name": name} for name in labels.branch_names(project)])


def list_project_users(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """Page[encord.orm.project.ProjectUserResponse] (encord/client.py:955-959, SDK 0.1.211: `Project.list_users`).
    The double's users are the annotators of its consensus stages (role ANNOTATOR, 1), less those removed."""
    project = workflow.get_project(state, p["project"])
    emails = sorted({a for stage in project.workflow.stages for a in stage.annotators} - set(project.removed_users))
    return _page([{"userEmail": email, "userRole": 1} for email in emails])


def remove_project_users(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.project.RemoveProjectUsersPayload (encord/client.py:961-965, SDK 0.1.211: `Project.remove_users`;
    encord/project.py:390-399: emails without access are ignored). Removed users get no new subtasks here, and
    tasks already assigned to them stay (Encord's docs are silent on them)."""
    project = workflow.get_project(state, p["project"])
    for email in (req.json() or {}).get("userEmails") or []:
        if str(email) not in project.removed_users:
            project.removed_users.append(str(email))
    return HttpReply(204, empty=True)


def get_folder(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.StorageFolder"""
    return HttpReply(200, storage.folder_json(state, storage.get_folder(state, p["folder"])))


def start_upload_job(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.PostUploadJobParams -> bare JSON uuid string"""
    body = req.json() or {}
    typed = body.get("dataItems") is not None
    manifest = body.get("dataItems") if typed else body.get("externalFiles")
    if not isinstance(manifest, dict):
        raise invalid("Either externalFiles or dataItems is required")
    job = uploads.start_job(
        state,
        p["folder"],
        manifest,
        typed=typed,
        ignore_errors=bool(body.get("ignoreErrors")),
        file_name=body.get("fileName"),
    )
    return HttpReply(200, job.uuid)


def poll_upload_job(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.UploadLongPollingState"""
    job = uploads.poll_job(state, p["job"], folder_uuid=p["folder"])
    return HttpReply(200, uploads.folder_job_json(state, job))


def _flag(req: HttpRequest, key: str) -> bool | None:
    """A bool query param as requests encodes it ('True' / 'False'); absent = None."""
    value = req.first(key)
    if value is None or value == "":
        return None
    if value.lower() in {"true", "1"}:
        return True
    if value.lower() in {"false", "0"}:
        return False
    raise invalid(f"{key} must be a boolean, got {value!r}")


def list_folder_items(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.ListItemsParams -> Page[encord.orm.storage.StorageItem]; itemTypes are repeated keys."""
    page_size = req.first("pageSize") or "100"
    if not page_size.isdigit():
        raise invalid(f"pageSize must be an integer, got {page_size!r}")
    filters = storage.ItemFilters(
        search=req.first("search") or None,
        is_in_dataset=_flag(req, "isInDataset"),
        item_types=frozenset(storage.normalise_item_type(t) for t in req.query.get("itemTypes", [])),
        is_recursive=bool(_flag(req, "isRecursive")),
        order=req.first("order") or "name",
        desc=bool(_flag(req, "desc")),
    )
    items, token = storage.list_items(state, p["folder"], filters, int(page_size), req.first("pageToken"))
    sign, metadata = bool(_flag(req, "signUrls")), _flag(req, "includeClientMetadata") is not False
    return _page([storage.item_json(state, i, sign_urls=sign, include_client_metadata=metadata) for i in items], token)


def get_item(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.GetItemParams -> encord.orm.storage.StorageItem"""
    [item] = storage.get_items(state, [p["item"]])
    return HttpReply(200, storage.item_json(state, item, sign_urls=bool(_flag(req, "signUrl"))))


def get_items_bulk(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.GetItemsBulkPayload -> Page[encord.orm.storage.StorageItem], in the order asked."""
    body = req.json() or {}
    uuids = body.get("itemUuids")
    if not isinstance(uuids, list):
        raise invalid("itemUuids must be a list")
    items = storage.get_items(state, [str(u) for u in uuids])
    return _page([storage.item_json(state, i, sign_urls=bool(body.get("signUrls"))) for i in items])


def _route(method: str, template: str, handler: Handler) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, template, re.compile(f"^{regex}$"), handler)


ROUTES = [
    _route("GET", "projects/{project}", get_project),
    _route("GET", "ontologies/{ontology}", get_ontology),
    _route("GET", "projects/{project}/datasets", list_project_datasets),
    _route("GET", "projects/{project}/workflow/stages/{stage}/tasks", list_tasks),
    _route("POST", "projects/{project}/workflow/stages/{stage}/actions", post_actions),
    _route("POST", "projects/{project}/workflow/stages/{stage}/move-tasks", move_tasks),
    _route("POST", "projects/{project}/issues", add_issues),
    _route("GET", "projects/{project}/issues", list_issues),
    _route("GET", "projects/{project}/branches", list_branches),
    _route("GET", "projects/{project}/users", list_project_users),
    _route("POST", "projects/{project}/users/bulk-delete", remove_project_users),
    _route("GET", "storage/folders/{folder}", get_folder),
    _route("POST", "storage/folders/{folder}/data-upload-jobs", start_upload_job),
    _route("GET", "storage/folders/{folder}/data-upload-jobs/{job}", poll_upload_job),
    _route("GET", "storage/folders/{folder}/items", list_folder_items),
    _route("POST", "storage/items/get-bulk", get_items_bulk),
    _route("GET", "storage/items/{item}", get_item),
    _route("GET", "analytics/time-spent", analytics.list_time_spent),
]


def resolve(method: str, path: str) -> tuple[str, Handler | None, dict[str, str]]:
    """(endpoint key for counts and faults, handler or None, path parameters)."""
    relative = path[len(PREFIX) :].strip("/")
    for route in ROUTES:
        match = route.pattern.match(relative)
        if match and route.method == method:
            return f"v2 {method} {route.template}", route.handler, match.groupdict()
    return f"v2 {method} {relative}", None, {}
