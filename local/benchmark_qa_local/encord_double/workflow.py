"""Workflow task state machine: task creation, stage queues with filters and paging, actions and moves.

Real Encord rejects a whole actions/move request when any task in it is not in the stage (agents catch the
resulting 400 and replay per task), so every mutation here runs on a copy of the task table and is committed
only when all items succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, ErrorKind, invalid, not_found
from .labels import find_row
from .paging import make_page_token, read_page_token
from .state import DoubleState, Project, Stage, StageType, Subtask, Task, TaskStatus, utc_now


@dataclass(frozen=True)
class TaskFilters:
    user_emails: Sequence[str] = ()
    data_hashes: Sequence[str] = ()
    dataset_hashes: Sequence[str] = ()
    data_title_contains: str | None = None
    statuses: Sequence[str] = ()


@dataclass
class _Txn:
    """Copy-on-write view of a project's tasks: a task is copied when a request first touches it, and the
    copies replace the originals only if every item of the request succeeded (so a rejected bundle changes
    nothing, as in Encord). Copying only what is touched keeps a request O(its own size)."""

    state: DoubleState
    project: Project
    changed: dict[str, Task] = field(default_factory=dict)

    def task(self, task_uuid: str) -> Task | None:
        if task_uuid not in self.changed:
            original = self.project.tasks.get(task_uuid)
            if original is None:
                return None
            self.changed[task_uuid] = original.model_copy(deep=True)
        return self.changed[task_uuid]

    def commit(self) -> None:
        self.project.tasks.update(self.changed)


def get_project(state: DoubleState, project_hash: str) -> Project:
    project = state.projects.get(project_hash)
    if project is None:
        raise not_found(f"Project {project_hash} not found")
    return project


def get_stage(project: Project, stage_uuid: str) -> Stage:
    stage = project.workflow.stage(stage_uuid)
    if stage is None:
        raise not_found(f"Stage {stage_uuid} not found in project {project.project_hash}")
    return stage


def consensus_branch_name(task: Task, index: int) -> str:
    """ "ALL Consensus branches start with `encord-`" (docs.encord.com/sdk-documentation/sdk-labels/
    sdk-import-labels-to-consensus-branches); the rest of the name is not documented."""
    return f"encord-consensus-{task.uuid[:8]}-{index + 1}"


ROUTERS = frozenset({StageType.USER_ROUTER, StageType.PERCENTAGE_ROUTER})


def _router_destination(stage: Stage, task: Task) -> str:
    """A router never holds a task. The percentage router splits evenly and stably by task uuid; the user router
    (its rules name users the double does not model) sends everything along its first pathway."""
    if not stage.pathways:
        raise invalid(f"Router stage '{stage.title}' has no pathways")
    index = (
        int(task.uuid.replace("-", ""), 16) % len(stage.pathways)
        if stage.stage_type is StageType.PERCENTAGE_ROUTER
        else 0
    )
    return stage.pathways[index].destination_uuid


def _enter_stage(state: DoubleState, project: Project, task: Task, stage_uuid: str, *, keep_assignee: bool) -> None:
    stage = get_stage(project, stage_uuid)
    if stage.stage_type in ROUTERS:
        _enter_stage(state, project, task, _router_destination(stage, task), keep_assignee=keep_assignee)
        return
    task.stage_uuid = stage.uuid
    task.seq = state.take_seq()
    task.updated_at = utc_now()
    task.status = TaskStatus.COMPLETED if stage.stage_type is StageType.DONE else TaskStatus.NEW
    if not keep_assignee:
        task.assignee = None
    if stage.stage_type is StageType.CONSENSUS_ANNOTATION:
        # A fresh round of consensus: one subtask, and so one label branch, per annotator.
        task.subtasks = [
            Subtask(annotator=annotator, branch_name=consensus_branch_name(task, i))
            for i, annotator in enumerate(stage.annotators)
        ]


def create_task(state: DoubleState, project: Project, data_hash: str) -> Task:
    existing = next((t for t in project.tasks.values() if t.data_hash == data_hash), None)
    if existing is not None:
        return existing
    task = Task(data_hash=data_hash, stage_uuid=project.workflow.start_uuid)
    _enter_stage(state, project, task, project.workflow.start_uuid, keep_assignee=False)
    project.tasks[task.uuid] = task
    return task


def sync_project_tasks(state: DoubleState, project: Project) -> None:
    """Every data unit of an attached dataset has a task, as in Encord."""
    for unit in list(state.data_units.values()):
        if unit.dataset_hash in project.dataset_hashes:
            create_task(state, project, unit.data_hash)


def sync_all(state: DoubleState) -> None:
    """Applied to every loaded state, so a hand-written file may leave tasks out."""
    for project in state.projects.values():
        sync_project_tasks(state, project)


def on_data_unit_added(state: DoubleState, data_hash: str) -> None:
    unit = state.data_units[data_hash]
    for project in state.projects.values():
        if unit.dataset_hash in project.dataset_hashes:
            create_task(state, project, data_hash)


def _matches(state: DoubleState, task: Task, filters: TaskFilters) -> bool:
    unit = state.data_units.get(task.data_hash)
    title = unit.title if unit else ""
    dataset_hash = unit.dataset_hash if unit else ""
    checks = [
        not filters.user_emails or task.assignee in filters.user_emails,
        not filters.data_hashes or task.data_hash in filters.data_hashes,
        not filters.dataset_hashes or dataset_hash in filters.dataset_hashes,
        not filters.data_title_contains or filters.data_title_contains.lower() in title.lower(),
        not filters.statuses or task.status.value in filters.statuses,
    ]
    return all(checks)


def list_tasks(
    state: DoubleState, project: Project, stage_uuid: str, filters: TaskFilters, page_token: str | None
) -> tuple[list[Task], str | None]:
    """One page of a stage queue, ordered by arrival. What the token means is undocumented (the SDK only passes
    it back, encord/http/v2/api_client.py:79-105), so it is switchable (settings.task_page_tokens): a cursor
    (the last seq seen: tasks leaving the stage between pages do not shift the rest, tasks arriving later show
    up at the end), or an offset into the queue as it is at each request (a task leaving the stage between
    pages shifts the later ones back, so a client acting while it pages skips tasks)."""
    get_stage(project, stage_uuid)
    offsets = state.settings.task_page_tokens == "offset"
    after = read_page_token("offset" if offsets else "seq", page_token) if page_token else 0
    queue = sorted(
        (
            t
            for t in project.tasks.values()
            if t.stage_uuid == stage_uuid and (offsets or t.seq > after) and _matches(state, t, filters)
        ),
        key=lambda t: t.seq,
    )
    start = after if offsets else 0
    page = queue[start : start + state.settings.page_size]
    if start + len(page) >= len(queue):
        return page, None
    return page, make_page_token("offset", start + len(page)) if offsets else make_page_token("seq", page[-1].seq)


def _task_in_stage(txn: _Txn, stage: Stage, task_uuid: str) -> Task:
    task = txn.task(task_uuid)
    if task is None or task.stage_uuid != stage.uuid:
        raise invalid(f"Task {task_uuid} is not in stage '{stage.title}' ({stage.uuid})")
    return task


def _subtask_in_stage(txn: _Txn, stage: Stage, subtask_uuid: str) -> tuple[Task, Subtask]:
    for original in txn.project.tasks.values():
        if original.stage_uuid != stage.uuid or all(sub.uuid != subtask_uuid for sub in original.subtasks):
            continue
        task = txn.task(original.uuid)
        if task is not None:
            return task, next(sub for sub in task.subtasks if sub.uuid == subtask_uuid)
    raise invalid(f"Subtask {subtask_uuid} is not in stage '{stage.title}' ({stage.uuid})")


def _require_edge(stage: Stage, destination: str | None, action: str) -> str:
    if destination is None:
        raise invalid(f"Stage '{stage.title}' has no edge for {action}")
    return destination


def _pathway_destination(stage: Stage, action: dict[str, Any]) -> str:
    by_uuid, by_name = action.get("pathwayUuid"), action.get("pathwayName")
    for pathway in stage.pathways:
        if (by_uuid and pathway.uuid == str(by_uuid)) or (by_name and pathway.name == by_name):
            return pathway.destination_uuid
    raise invalid(f"Pathway {by_uuid or by_name!r} does not exist in stage '{stage.title}'")


def _apply_consensus_annotation(txn: _Txn, stage: Stage, action: dict[str, Any], actor: str) -> None:
    kind = action.get("action")
    task, sub = _subtask_in_stage(txn, stage, str(action.get("taskUuid")))
    if kind == "SUBMIT":
        if sub.status is TaskStatus.COMPLETED:
            raise invalid(f"Subtask {sub.uuid} is already submitted")
        sub.status, sub.updated_at = TaskStatus.COMPLETED, utc_now()
        if all(s.status is TaskStatus.COMPLETED for s in task.subtasks):
            destination = _require_edge(stage, stage.next_uuid, "SUBMIT")
            _enter_stage(txn.state, txn.project, task, destination, keep_assignee=False)
    elif kind == "ASSIGN":
        sub.annotator, sub.status = str(action["assignee"]), TaskStatus.ASSIGNED
    elif kind == "RELEASE":
        sub.status = TaskStatus.RELEASED
    else:
        raise invalid(f"Action {kind!r} is not allowed in a consensus annotation stage")
    task.last_actioned_by = actor


# Actions per stage type; CONSENSUS_ANNOTATION acts on subtasks and is handled separately.
_ALLOWED_ACTIONS: dict[StageType, frozenset[str]] = {
    StageType.AGENT: frozenset({"PATHWAY_ACTION"}),
    StageType.ANNOTATION: frozenset({"SUBMIT", "ASSIGN", "RELEASE"}),
    StageType.REVIEW: frozenset({"APPROVE", "REJECT", "ASSIGN", "RELEASE"}),
    StageType.CONSENSUS_REVIEW: frozenset({"APPROVE", "REJECT", "ASSIGN", "RELEASE"}),
    StageType.CONSENSUS_ANNOTATION: frozenset({"SUBMIT", "ASSIGN", "RELEASE"}),
    StageType.DONE: frozenset(),
    StageType.USER_ROUTER: frozenset(),
    StageType.PERCENTAGE_ROUTER: frozenset(),
}


def _apply_one(txn: _Txn, stage: Stage, action: dict[str, Any], actor: str) -> None:
    kind = action.get("action")
    if stage.stage_type is StageType.CONSENSUS_ANNOTATION:
        _apply_consensus_annotation(txn, stage, action, actor)
        return
    task = _task_in_stage(txn, stage, str(action.get("taskUuid")))
    keep = bool(action.get("retainAssignee"))
    if kind not in _ALLOWED_ACTIONS[stage.stage_type]:
        raise invalid(f"Action {kind!r} is not allowed in stage '{stage.title}' ({stage.stage_type.value})")
    task.last_actioned_by = actor
    if kind == "PATHWAY_ACTION":
        _enter_stage(txn.state, txn.project, task, _pathway_destination(stage, action), keep_assignee=False)
    elif kind in {"SUBMIT", "APPROVE"}:
        _enter_stage(txn.state, txn.project, task, _require_edge(stage, stage.next_uuid, kind), keep_assignee=keep)
    elif kind == "REJECT":
        _enter_stage(txn.state, txn.project, task, _require_edge(stage, stage.reject_uuid, kind), keep_assignee=keep)
    elif kind == "ASSIGN":
        task.assignee, task.status = str(action["assignee"]), TaskStatus.ASSIGNED
    elif kind == "RELEASE":
        task.assignee, task.status = None, TaskStatus.RELEASED
    task.updated_at = utc_now()


def _within(limit: int | None, count: int, what: str) -> None:
    """Encord's bundle limits: "Keep bundle sizes under 1000 operations" (docs.encord.com/sdk-documentation/
    general-sdk/sdk-bulk-action-best-practices); the SDK splits moves at 500 (encord/workflow/common.py:155)."""
    if limit is not None and count > limit:
        raise ApiError(ErrorKind.PAYLOAD_TOO_LARGE, f"{count} {what} in one request; the limit is {limit}")


def apply_actions(state: DoubleState, project: Project, stage_uuid: str, actions: list[dict[str, Any]]) -> None:
    _within(state.settings.max_actions_per_request, len(actions), "actions")
    stage = get_stage(project, stage_uuid)
    txn = _Txn(state, project)
    for action in actions:
        _apply_one(txn, stage, action, state.settings.user_email)
    txn.commit()


def move_tasks(
    state: DoubleState, project: Project, origin_uuid: str, destination_uuid: str, task_uuids: list[str]
) -> None:
    _within(state.settings.max_moves_per_request, len(task_uuids), "task moves")
    origin = get_stage(project, origin_uuid)
    if project.workflow.stage(destination_uuid) is None:
        raise invalid(f"Destination stage {destination_uuid} is not in the workflow")
    txn = _Txn(state, project)
    for task_uuid in task_uuids:
        task = _task_in_stage(txn, origin, task_uuid)
        _enter_stage(state, project, task, destination_uuid, keep_assignee=False)
    txn.commit()


def data_title(state: DoubleState, data_hash: str) -> str:
    unit = state.data_units.get(data_hash)
    return unit.title if unit else ""


def task_json(state: DoubleState, project: Project, task: Task) -> dict[str, Any]:
    """Superset of the SDK's task DTOs for every stage type (unknown keys are ignored by the SDK)."""
    stage = get_stage(project, task.stage_uuid)
    title = data_title(state, task.data_hash)
    out: dict[str, Any] = {
        "uuid": task.uuid,
        "createdAt": task.created_at.isoformat(),
        "updatedAt": task.updated_at.isoformat(),
        "status": task.status.value,
        "dataHash": task.data_hash,
        "dataTitle": title,
        "labelBranchName": task.label_branch_name,
        "assignee": task.assignee,
        "lastActionedBy": task.last_actioned_by,
    }
    if stage.stage_type is StageType.CONSENSUS_ANNOTATION:
        out["subtasks"] = [
            {
                "uuid": sub.uuid,
                "createdAt": sub.created_at.isoformat(),
                "updatedAt": sub.updated_at.isoformat(),
                "status": sub.status.value,
                "dataHash": task.data_hash,
                "dataTitle": title,
                "labelBranchName": sub.branch_name,
                "assignee": sub.annotator,
            }
            for sub in task.subtasks
        ]
    if stage.stage_type is StageType.CONSENSUS_REVIEW:
        options = []
        for sub in task.subtasks:
            row = find_row(project, task.data_hash, sub.branch_name)
            options.append(
                {
                    "annotator": sub.annotator,
                    "labelBranchName": sub.branch_name,
                    "labelHash": row.label_hash if row else None,
                }
            )
        out["options"] = options
    return out
