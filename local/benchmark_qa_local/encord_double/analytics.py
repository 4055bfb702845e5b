"""Time spent per task (`GET v2/public/analytics/time-spent`), as `Project.list_time_spent` reads it.

Sources (encord 0.1.211, the pinned SDK):
* `encord/project.py:1100` `list_time_spent(start, end=None, workflow_stage_uuid=None, user_email=None)`: "Get time
  spent by collaborators on a task per day. If a task spans multiple days, the time spent on each day will be
  returned separately."; it builds `TimeSpentParams(project_uuid, after=start, before=end,
  workflow_stage_uuids=..., user_emails=...)`.
* `encord/client.py:1281` `get_time_spent` -> `get_paged_iterator("analytics/time-spent", params, TimeSpent)`;
  `encord/http/v2/api_client.py:79` pages on `pageToken` / `nextPageToken`; GET params are the DTO's camelCase
  `to_dict()` (ISO datetimes, lists as repeated keys, None left out).
* `encord/orm/analytics.py:67` `TimeSpentParams` ("after: Start of the time window (inclusive)", "before: ...
  (exclusive). If omitted, uses current time"; also dataset_uuids, data_uuids, data_title) and `:93` `TimeSpent`
  (periodStartTime, periodEndTime, timeSpentSeconds: int, userEmail, projectUserRole, dataUuid, dataTitle,
  datasetUuid, datasetTitle, workflowTaskUuid?, workflowStage?).

Where the sources are silent the double can be switched (Settings.time_spent_task_uuid): whether a consensus
annotator's row names the parent task, the annotator's subtask, or no task. A row is returned when its day
overlaps [after, before).

The time itself comes from the editor's timer, which no SDK call writes: the demo and tests put it into the
state with `record_time_spent`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .errors import invalid
from .messages import HttpReply, HttpRequest
from .paging import make_page_token, read_page_token
from .state import DoubleState, TimeSpentEntry
from .workflow import data_title, get_project

ANNOTATOR_ROLE = 1  # encord.utilities.project_user.ProjectUserRole.ANNOTATOR


def record_time_spent(
    state: DoubleState,
    project_hash: str,
    task_uuid: str,
    user_email: str,
    seconds: int,
    day: dt.date,
    stage_uuid: str | None = None,
) -> TimeSpentEntry:
    """What the editor's timer would log: `user_email` spent `seconds` on the task on `day`. For a consensus task
    the user's subtask is found (and its stage is the task's consensus annotate stage unless given)."""
    project = get_project(state, project_hash)
    task = project.tasks.get(task_uuid)
    if task is None:
        raise KeyError(f"no task {task_uuid} in project {project_hash}")
    subtask = next((s for s in task.subtasks if s.annotator == user_email), None)
    entry = TimeSpentEntry(
        project_hash=project_hash,
        user_email=user_email,
        task_uuid=task_uuid,
        subtask_uuid=subtask.uuid if subtask else None,
        data_hash=task.data_hash,
        stage_uuid=stage_uuid or task.stage_uuid,
        day=day,
        seconds=seconds,
    )
    state.time_spent.append(entry)
    return entry


def _instant(req: HttpRequest, key: str) -> dt.datetime | None:
    value = req.first(key)
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise invalid(f"{key} must be an ISO datetime, got {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _row(state: DoubleState, entry: TimeSpentEntry) -> dict[str, Any]:
    project = state.projects[entry.project_hash]
    stage = project.workflow.stage(entry.stage_uuid)
    unit = state.data_units.get(entry.data_hash)
    dataset = state.datasets.get(unit.dataset_hash) if unit else None
    start = dt.datetime.combine(entry.day, dt.time(), dt.UTC)
    task_uuid = {"task": entry.task_uuid, "subtask": entry.subtask_uuid or entry.task_uuid, "none": None}[
        state.settings.time_spent_task_uuid
    ]
    return {
        "periodStartTime": start.isoformat(),
        "periodEndTime": (start + dt.timedelta(days=1)).isoformat(),
        "timeSpentSeconds": entry.seconds,
        "userEmail": entry.user_email,
        "projectUserRole": ANNOTATOR_ROLE,
        "dataUuid": entry.data_hash,
        "dataTitle": data_title(state, entry.data_hash),
        "datasetUuid": unit.dataset_hash if unit else entry.data_hash,
        "datasetTitle": dataset.title if dataset else "",
        "workflowTaskUuid": task_uuid,
        "workflowStage": (
            {"stageType": stage.stage_type.value, "uuid": stage.uuid, "title": stage.title} if stage else None
        ),
    }


def list_time_spent(state: DoubleState, p: dict[str, str], req: HttpRequest) -> HttpReply:
    """Page[encord.orm.analytics.TimeSpent]"""
    project_hash = req.first("projectUuid")
    if not project_hash:
        raise invalid("projectUuid is required")
    project = get_project(state, project_hash)
    after = _instant(req, "after")
    if after is None:
        raise invalid("after is required")
    before = _instant(req, "before") or dt.datetime.now(dt.UTC)
    stages = set(req.query.get("workflowStageUuids", []))
    users = set(req.query.get("userEmails", []))
    data = set(req.query.get("dataUuids", []))
    datasets = set(req.query.get("datasetUuids", []))
    title = (req.first("dataTitle") or "").lower()
    rows = [
        e
        for e in state.time_spent
        if e.project_hash == project.project_hash
        and dt.datetime.combine(e.day, dt.time(), dt.UTC) < before
        and dt.datetime.combine(e.day + dt.timedelta(days=1), dt.time(), dt.UTC) > after
        and (not stages or e.stage_uuid in stages)
        and (not users or e.user_email in users)
        and (not data or e.data_hash in data)
        and (not datasets or ((u := state.data_units.get(e.data_hash)) is not None and u.dataset_hash in datasets))
        and title in data_title(state, e.data_hash).lower()
    ]
    rows.sort(key=lambda e: (e.day, e.user_email, e.task_uuid))
    token = req.first("pageToken")
    start = read_page_token("time-spent", token) if token else 0
    size = state.settings.page_size
    page = rows[start : start + size]
    following = make_page_token("time-spent", start + size) if start + size < len(rows) else None
    return HttpReply(200, {"results": [_row(state, e) for e in page], "nextPageToken": following})
