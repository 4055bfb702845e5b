"""Label rows and branches: v1 `labelrowmetadata` listing and `labelrow` GET (read only), PUT (create) and
POST (save). Wire formats follow encord/orm/label_row.py: metadata `data_type` is UPPER-case, the label-row
dict's is lower-case, and its data unit carries a MIME type."""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Iterable
from typing import Any

from .errors import ApiError, ErrorKind, invalid, not_found
from .state import DataUnit, DoubleState, LabelRow, Project, StageType, Task, utc_now

MAIN_BRANCH = "main"

_MIME = {"image": "image/jpeg", "video": "video/mp4", "img_group": "image/jpeg", "dicom": "application/dicom"}


def title_matches(pattern: str, title: str) -> bool:
    """SQL LIKE, as used by the v1 *_like filters."""
    return fnmatch.fnmatchcase(title, pattern.replace("%", "*").replace("_", "?"))


def find_row(project: Project, data_hash: str, branch_name: str) -> LabelRow | None:
    return next(
        (r for r in project.label_rows.values() if r.data_hash == data_hash and r.branch_name == branch_name),
        None,
    )


def project_data_units(state: DoubleState, project: Project) -> list[DataUnit]:
    return [u for u in state.data_units.values() if u.dataset_hash in project.dataset_hashes]


def _unit(state: DoubleState, project: Project, data_hash: str) -> DataUnit:
    unit = state.data_units.get(data_hash)
    if unit is None or unit.dataset_hash not in project.dataset_hashes:
        raise not_found(f"Data unit {data_hash} is not in project {project.project_hash}")
    return unit


def _task(project: Project, data_hash: str) -> Task | None:
    return next((t for t in project.tasks.values() if t.data_hash == data_hash), None)


def _annotation_task_status(project: Project, task: Task | None) -> str:
    stage = project.workflow.stage(task.stage_uuid) if task else None
    if stage is None:
        return "QUEUED"
    if stage.stage_type is StageType.DONE:
        return "COMPLETED"
    if stage.stage_type in {StageType.REVIEW, StageType.CONSENSUS_REVIEW}:
        return "IN_REVIEW"
    return "ASSIGNED" if task and task.assignee else "QUEUED"


def put_label_row(
    state: DoubleState,
    project_hash: str,
    data_hash: str,
    branch_name: str = MAIN_BRANCH,
    labels: dict[str, Any] | None = None,
) -> LabelRow:
    """Seeding API: create (or overwrite) the row of (data_hash, branch) with a label-row dict."""
    project = state.projects[project_hash]
    _unit(state, project, data_hash)
    row = find_row(project, data_hash, branch_name)
    if row is None:
        row = LabelRow(data_hash=data_hash, branch_name=branch_name)
        project.label_rows[row.label_hash] = row
    row.labels, row.last_edited_at = labels, utc_now()
    return row


def metadata_json(state: DoubleState, project: Project, unit: DataUnit, branch: str) -> dict[str, Any]:
    row = find_row(project, unit.data_hash, branch)
    task = _task(project, unit.data_hash)
    stage = project.workflow.stage(task.stage_uuid) if task else None
    dataset = state.datasets[unit.dataset_hash]
    return {
        "label_hash": row.label_hash if row else None,
        "created_at": row.created_at.isoformat() if row else None,
        "last_edited_at": row.last_edited_at.isoformat() if row else None,
        "branch_name": branch,
        "data_hash": unit.data_hash,
        "dataset_hash": unit.dataset_hash,
        "dataset_title": dataset.title,
        "data_title": unit.title,
        "data_type": unit.data_type.upper(),
        "data_link": unit.file_link,
        "spaces": {},
        "label_status": "LABELLED" if row and row.labels else "NOT_LABELLED",
        "annotation_task_status": _annotation_task_status(project, task),
        "workflow_graph_node": {"uuid": stage.uuid, "title": stage.title} if stage else None,
        "is_shadow_data": False,
        "number_of_frames": unit.frames,
        "frames_per_second": unit.fps,
        "duration": (unit.frames / unit.fps) if unit.fps else None,
        "height": unit.height,
        "width": unit.width,
        "task_uuid": task.uuid if task else None,
        "backing_item_uuid": unit.backing_item_uuid,
        "file_type": _MIME.get(unit.data_type, "application/octet-stream"),
        "is_valid": True,
    }


def branch_names(project: Project) -> list[str]:
    """Distinct branches of a project; "main" always exists."""
    return [MAIN_BRANCH, *sorted({r.branch_name for r in project.label_rows.values()} - {MAIN_BRANCH})]


def _branches_of(project: Project, data_hash: str) -> list[str]:
    branches = {r.branch_name for r in project.label_rows.values() if r.data_hash == data_hash}
    return [MAIN_BRANCH, *sorted(branches - {MAIN_BRANCH})]


def list_metadata(state: DoubleState, project: Project, payload: dict[str, Any]) -> list[dict[str, Any]]:
    include_all = bool(payload.get("include_all_label_branches"))
    branch = payload.get("branch_name")
    if include_all and branch:
        raise invalid("branch_name cannot be combined with include_all_label_branches")
    data_hashes = set(payload.get("data_hashes") or [])
    label_hashes = set(payload.get("label_hashes") or [])
    include_uninitialised = bool(payload.get("include_uninitialised_labels"))
    title_eq, title_like = payload.get("data_title_eq"), payload.get("data_title_like")
    node_eq = payload.get("workflow_graph_node_title_eq")

    out: list[dict[str, Any]] = []
    for unit in project_data_units(state, project):
        if data_hashes and unit.data_hash not in data_hashes:
            continue
        if (title_eq and unit.title != title_eq) or (title_like and not title_matches(title_like, unit.title)):
            continue
        branches = _branches_of(project, unit.data_hash) if include_all else [branch or MAIN_BRANCH]
        for name in branches:
            meta = metadata_json(state, project, unit, name)
            if meta["label_hash"] is None and (not include_uninitialised or label_hashes):
                continue
            if label_hashes and meta["label_hash"] not in label_hashes:
                continue
            node = meta["workflow_graph_node"]
            if node_eq and (node is None or node["title"] != node_eq):
                continue
            out.append(meta)
    return out


def _empty_data_units(unit: DataUnit) -> dict[str, dict[str, Any]]:
    """The `data_units` of a row with no labels yet, shaped per data type as the SDK reads them
    (encord/objects/ontology_labels_impl.py, from_labels_dict): an image group has one data unit per image,
    ordered by `data_sequence`, each with its own data hash; a video (or image sequence) and a DICOM series are
    one data unit whose labels are keyed by frame; an image is one data unit with its labels inline."""
    base: dict[str, Any] = {
        "data_title": unit.title,
        "data_link": unit.file_link,
        "data_type": _MIME.get(unit.data_type, "image/jpeg"),
        "data_sequence": 0,
        "width": unit.width,
        "height": unit.height,
    }
    if unit.data_type == "img_group":
        images = {}
        for index in range(max(1, unit.frames)):
            image_hash = str(uuid.uuid5(uuid.UUID(unit.data_hash), str(index)))
            images[image_hash] = {
                **base,
                "data_hash": image_hash,
                "data_title": f"{unit.title} [{index}]",
                "data_sequence": index,
                "labels": {"objects": [], "classifications": []},
            }
        return images
    if unit.data_type == "video":
        base.update(data_fps=unit.fps or 25.0, data_duration=unit.frames / (unit.fps or 25.0), labels={})
    elif unit.data_type == "dicom":
        base.update(labels={})
    else:
        base["labels"] = {"objects": [], "classifications": []}
    return {unit.data_hash: {**base, "data_hash": unit.data_hash}}


def label_row_dict(state: DoubleState, project: Project, row: LabelRow) -> dict[str, Any]:
    """The saved dict with its identity fields forced to this row (a save may come from another branch)."""
    unit = _unit(state, project, row.data_hash)
    meta = metadata_json(state, project, unit, row.branch_name)
    body: dict[str, Any] = dict(row.labels) if row.labels else {}
    body.setdefault("object_answers", {})
    body.setdefault("classification_answers", {})
    body.setdefault("object_actions", {})
    body.setdefault("data_units", _empty_data_units(unit))
    body.update(
        label_hash=row.label_hash,
        branch_name=row.branch_name,
        created_at=row.created_at.isoformat(),
        last_edited_at=row.last_edited_at.isoformat(),
        data_hash=unit.data_hash,
        dataset_hash=unit.dataset_hash,
        dataset_title=meta["dataset_title"],
        data_title=unit.title,
        data_type=unit.data_type,
        annotation_task_status=meta["annotation_task_status"],
        label_status=meta["label_status"],
        is_shadow_data=False,
        spaces=body.get("spaces") or {},
    )
    return body


def get_rows(state: DoubleState, project: Project, label_hashes: Iterable[str]) -> list[dict[str, Any]]:
    """Read only: an unknown label hash is an error, never a new row."""
    label_hashes = list(label_hashes)
    limit = state.settings.label_rows_per_request
    if limit is not None and len(label_hashes) > limit:
        raise ApiError(
            ErrorKind.MULTI_LABEL_LIMIT, f"At most {limit} label rows per request", {"maximum_labels_allowed": limit}
        )
    out = []
    for label_hash in label_hashes:
        row = project.label_rows.get(label_hash)
        if row is None:
            raise not_found(f"Label row {label_hash} not found")
        out.append(label_row_dict(state, project, row))
    return out


def create_rows(
    state: DoubleState, project: Project, data_hashes: Iterable[str], branch_name: str | None
) -> list[dict[str, Any]]:
    branch = branch_name or MAIN_BRANCH
    out = []
    for data_hash in data_hashes:
        _unit(state, project, data_hash)
        row = find_row(project, data_hash, branch) or put_label_row(
            state, project.project_hash, data_hash, branch, None
        )
        out.append(label_row_dict(state, project, row))
    return out


def save_rows(project: Project, label_hashes: list[str], labels: list[dict[str, Any]]) -> None:
    if len(label_hashes) != len(labels):
        raise invalid("uid and labels lengths differ")
    rows = []
    for label_hash in label_hashes:
        row = project.label_rows.get(label_hash)
        if row is None:
            raise not_found(f"Label row {label_hash} not found")
        rows.append(row)
    for row, body in zip(rows, labels, strict=True):
        row.labels, row.last_edited_at = body, utc_now()
