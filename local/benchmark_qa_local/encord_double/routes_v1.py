"""v1 RPC routes: `POST /public` with {"query_type", "query_method", "values": {"uid", "payload"}} and the
resource named by the ResourceType/ResourceID headers. Replies use the envelope {"status": 200, "response": ...};
errors too are HTTP 200, with the error name in "response" (encord/http/error_utils.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import datasets, labels, uploads, workflow
from .errors import ApiError, invalid
from .messages import HttpReply, HttpRequest
from .state import DoubleState

# (state, resource id, uid, payload) -> response value
Handler = Callable[[DoubleState, str, Any, Any], Any]


def parse(req: HttpRequest) -> tuple[str, str, Any, Any]:
    body = req.json() or {}
    values = body.get("values") or {}
    return str(body.get("query_type", "")), str(body.get("query_method", "")), values.get("uid"), values.get("payload")


def _uids(uid: Any) -> list[str]:
    return [str(u) for u in uid] if isinstance(uid, list) else [str(uid)]


def label_row_metadata(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    return labels.list_metadata(state, workflow.get_project(state, resource), payload or {})


def get_label_rows(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    rows = labels.get_rows(state, workflow.get_project(state, resource), _uids(uid))
    return rows if isinstance(uid, list) else rows[0]


def create_label_rows(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    branch = (payload or {}).get("branch_name")
    rows = labels.create_rows(state, workflow.get_project(state, resource), _uids(uid), branch)
    return rows if isinstance(uid, list) else rows[0]


def save_label_rows(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    payload = payload or {}
    bodies = payload.get("labels") if payload.get("multi_request") else [payload]
    if not isinstance(bodies, list):
        raise invalid("labels must be a list")
    labels.save_rows(workflow.get_project(state, resource), _uids(uid), bodies)
    return True


def get_dataset(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    settings = (payload or {}).get("dataset_access_settings") or {}
    dataset = datasets.get_dataset(state, resource)
    return datasets.dataset_json(state, dataset, fetch_rows=bool(settings.get("fetch_rows", True)))


def start_dataset_upload(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    job = uploads.start_dataset_job(state, resource, payload or {})
    return {"process_hash": job.uuid}


def poll_dataset_upload(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    datasets.get_dataset(state, resource)
    job = uploads.poll_job(state, str((payload or {}).get("process_hash")))
    return uploads.dataset_job_json(state, job)


def link_items(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    payload = payload or {}
    dataset = datasets.get_dataset(state, resource)
    units = datasets.link_items(
        state,
        dataset,
        [str(u) for u in payload.get("item_uuids") or []],
        str(payload.get("duplicates_behavior", "SKIP")),
    )
    return [datasets.data_row_json(u) for u in units]


def list_data_rows(state: DoubleState, resource: str, uid: Any, payload: Any) -> Any:
    dataset = datasets.get_dataset(state, resource)
    return [datasets.data_row_json(u) for u in datasets.list_rows(state, dataset, payload or {})]


ROUTES: dict[tuple[str, str], Handler] = {
    ("labelrowmetadata", "GET"): label_row_metadata,
    ("labelrow", "GET"): get_label_rows,
    ("labelrow", "PUT"): create_label_rows,
    ("labelrow", "POST"): save_label_rows,
    ("dataset", "GET"): get_dataset,
    ("datasetdatalongpolling", "POST"): start_dataset_upload,
    ("datasetdatalongpolling", "GET"): poll_dataset_upload,
    ("datasetlinkitems", "POST"): link_items,
    ("datarows", "GET"): list_data_rows,
}


def endpoint_key(req: HttpRequest) -> str:
    try:
        query_type, query_method, _, _ = parse(req)
    except ValueError:
        return "v1 <unparseable>"
    return f"v1 {query_type} {query_method}"


def ok(response: Any) -> HttpReply:
    return HttpReply(200, {"status": 200, "response": response})


def error(err: ApiError) -> HttpReply:
    return HttpReply(
        200,
        {
            "status": err.kind.http_status,
            "response": [err.kind.v1_name],
            "payload": err.payload if err.payload is not None else err.message,
        },
    )


def dispatch(state: DoubleState, req: HttpRequest) -> HttpReply:
    query_type, query_method, uid, payload = parse(req)
    handler = ROUTES.get((query_type, query_method))
    if handler is None:
        return HttpReply(200, {"status": 405, "response": ["METHOD_NOT_ALLOWED_ERROR"], "payload": query_type})
    try:
        return ok(handler(state, req.headers.get("resourceid", ""), uid, payload))
    except ApiError as err:
        return error(err)
