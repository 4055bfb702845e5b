"""Task comments ("issues", v2 `projects/{p}/issues`), as written by `task.issues.add_file_issue(...)`."""

from __future__ import annotations

import uuid
from typing import Any

from .errors import invalid
from .state import DoubleState, Issue, IssueComment, Project

# The SDK's IssueAnchorType values (CamelStrEnum) and the anchor keys that become top-level issue fields.
_ANCHOR_TYPES = {"dataUnit", "frame", "frameCoordinate", "sceneCoordinate", "frameRange", "annotation"}


def add_issues(state: DoubleState, project: Project, payload: dict[str, Any]) -> list[Issue]:
    created = []
    for new in payload.get("issues") or []:
        anchor = new.get("anchor") or {}
        data_hash = str(anchor.get("dataUuid", ""))
        if anchor.get("type") not in _ANCHOR_TYPES:
            raise invalid(f"Unknown issue anchor type {anchor.get('type')!r}")
        if not any(t.data_hash == data_hash for t in project.tasks.values()):
            raise invalid(f"Data unit {data_hash} has no task in project {project.project_hash}")
        created.append(
            Issue(
                project_hash=project.project_hash,
                data_hash=data_hash,
                anchor=anchor,
                comment=IssueComment(content=str(new.get("comment", "")), author_email=state.settings.user_email),
                tags=[str(t) for t in new.get("issueTags") or []],
            )
        )
    state.issues.extend(created)
    return created


def issues_of(state: DoubleState, project_hash: str, data_hash: str) -> list[Issue]:
    return [i for i in state.issues if i.project_hash == project_hash and i.data_hash == data_hash]


def issue_json(issue: Issue) -> dict[str, Any]:
    extra = {k: v for k, v in issue.anchor.items() if k not in {"dataUuid", "type"}}
    if {"x", "y"} <= extra.keys():
        extra["coordinate"] = {"x": extra.pop("x"), "y": extra.pop("y")}
    return {
        "type": issue.anchor.get("type"),
        "uuid": issue.uuid,
        "dataUuid": issue.data_hash,
        "comments": [
            {
                "content": issue.comment.content,
                "authorEmail": issue.comment.author_email,
                "createdAt": issue.comment.created_at.isoformat(),
            }
        ],
        # Tags are org-level objects in Encord; the double derives a stable uuid from the name.
        "tags": [{"name": t, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, t))} for t in issue.tags],
        "resolutionHistory": [],
        **extra,
    }
