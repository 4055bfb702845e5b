"""Routes of the workspace calls (workspace.py): v2 REST routes in the form of routes_v2, and the v1 `project`
POST. The server asks these after routes_v2 and routes_v1 find nothing, so those modules stay untouched."""

from __future__ import annotations

from typing import Any

from . import routes_v1, routes_v2, workspace
from .errors import ApiError, invalid
from .messages import HttpReply, HttpRequest
from .state import DoubleState
from .storage import folder_json


def _text_filters(req: HttpRequest, description: str = "desc") -> workspace.TextFilters:
    """The title and description filters as the SDK sends them (datasets spell the description out)."""
    return workspace.TextFilters(
        title_eq=req.first("titleEq"),
        title_like=req.first("titleLike"),
        desc_eq=req.first(f"{description}Eq"),
        desc_like=req.first(f"{description}Like"),
    )


def _page_size(req: HttpRequest) -> int:
    text = req.first("pageSize") or "100"
    if not text.isdigit():
        raise invalid(f"pageSize must be an integer, got {text!r}")
    return int(text)


def create_folder(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.CreateStorageFolderPayload -> encord.orm.storage.StorageFolder"""
    body = req.json() or {}
    if body.get("cloudSyncedFolderParams"):
        raise invalid("Cloud-synced folders are not modelled by the double")
    parent = body.get("parent")
    folder = workspace.create_folder(state, str(body.get("name") or ""), body.get("description"), parent)
    return HttpReply(200, folder_json(state, folder))


def list_folders(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.storage.ListFoldersParams -> Page[encord.orm.storage.StorageFolder]"""
    folders, token = workspace.list_folders(
        state,
        search=req.first("search") or None,
        dataset_synced=routes_v2._flag(req, "datasetSynced"),
        order=req.first("order") or "name",
        desc=bool(routes_v2._flag(req, "desc")),
        page_size=_page_size(req),
        page_token=req.first("pageToken"),
    )
    return HttpReply(200, {"results": [folder_json(state, f) for f in folders], "nextPageToken": token})


def create_dataset(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.dataset.CreateDatasetPayload -> CreateDatasetResponseV2"""
    body = req.json() or {}
    dataset = workspace.create_dataset(
        state, str(body.get("title") or ""), body.get("description"), bool(body.get("createBackingFolder"))
    )
    return HttpReply(200, {"datasetUuid": dataset.dataset_hash, "backingFolderUuid": dataset.backing_folder_uuid})


def list_datasets(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.dataset.DatasetsWithUserRolesListParams -> DatasetsWithUserRolesListResponse"""
    found = _text_filters(req, "description").matching(state.datasets.values())
    return HttpReply(200, {"result": [workspace.dataset_with_role_json(d) for d in found]})


def _ontology_json(state: DoubleState, ontology_hash: str, req: HttpRequest) -> Any:
    """encord.utilities.ontology_user.OntologyWithUserRole, as GET ontologies/{ontology} answers it"""
    return routes_v2.get_ontology(state, {"ontology": ontology_hash}, req).body


def create_ontology(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.ontology.CreateOrUpdateOntologyPayload -> OntologyWithUserRole"""
    body = req.json() or {}
    ontology = workspace.create_ontology(
        state, str(body.get("title") or ""), str(body.get("description") or ""), body.get("editor")
    )
    return HttpReply(200, _ontology_json(state, ontology.ontology_hash, req))


def list_ontologies(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.utilities.ontology_user.OntologiesFilterParams -> Page[OntologyWithUserRole], one page"""
    found = _text_filters(req).matching(state.ontologies.values())
    results = [_ontology_json(state, o.ontology_hash, req) for o in found]
    return HttpReply(200, {"results": results, "nextPageToken": None})


def list_projects(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.project.ProjectFilterParams -> Page[ProjectDTO], each shaped as GET projects/{project}"""
    projects, token = workspace.find_projects(state, _text_filters(req), _page_size(req), req.first("pageToken"))
    results = [routes_v2.get_project(state, {"project": project.project_hash}, req).body for project in projects]
    return HttpReply(200, {"results": results, "nextPageToken": token})


def list_integrations(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """encord.orm.cloud_integration.GetCloudIntegrationsParams -> GetCloudIntegrationsResponse"""
    found = workspace.find_integrations(
        state,
        uuids=req.query.get("filterIntegrationUuids", []),
        titles=req.query.get("filterIntegrationTitles", []),
    )
    return HttpReply(200, {"result": [{"integrationUuid": i.integration_hash, "title": i.title} for i in found]})


ROUTES = [
    routes_v2._route("POST", "storage/folders", create_folder),
    routes_v2._route("GET", "storage/folders", list_folders),
    routes_v2._route("POST", "datasets", create_dataset),
    routes_v2._route("GET", "datasets/list", list_datasets),
    routes_v2._route("POST", "ontologies", create_ontology),
    routes_v2._route("GET", "ontologies", list_ontologies),
    routes_v2._route("GET", "projects", list_projects),
    routes_v2._route("GET", "cloud-integrations", list_integrations),
]


def resolve(method: str, path: str) -> tuple[str, routes_v2.Handler | None, dict[str, str]]:
    """As routes_v2.resolve, over the workspace routes."""
    relative = path[len(routes_v2.PREFIX) :].strip("/")
    for route in ROUTES:
        match = route.pattern.match(relative)
        if match and route.method == method:
            return f"v2 {method} {route.template}", route.handler, match.groupdict()
    return f"v2 {method} {relative}", None, {}


def dispatch_v1(state: DoubleState, req: HttpRequest) -> HttpReply | None:
    """The v1 `project` POST (create_project); None for any other v1 query, which routes_v1 answers."""
    query_type, query_method, _, payload = routes_v1.parse(req)
    if (query_type, query_method) != ("project", "POST"):
        return None
    try:
        return routes_v1.ok(workspace.create_project(state, payload or {}).project_hash)
    except ApiError as err:
        return routes_v1.error(err)
