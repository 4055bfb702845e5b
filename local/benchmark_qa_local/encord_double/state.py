"""The double's whole world as pydantic models: what is saved to / loaded from the state JSON file.

Everything is keyed by the identifiers the SDK sees (project hash, data hash, stage uuid, ...), so a state
file can be written by hand or by `seed.py` and then inspected after a run. Behaviour lives in the other
modules (workflow, labels, storage, datasets, issues); this module only holds data and (de)serialises it.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STATE_FORMAT_VERSION = 1


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageType(enum.StrEnum):
    """Mirrors encord.orm.workflow.WorkflowStageType (the SDK rejects any other value). The SDK's enum has the
    router stages too (encord/orm/workflow.py:21-43), but SDK 0.1.211 cannot build a Workflow holding one
    (encord/workflow/workflow.py:60, AssertionError "Unknown stage type")."""

    ANNOTATION = "ANNOTATION"
    REVIEW = "REVIEW"
    USER_ROUTER = "USER_ROUTER"
    PERCENTAGE_ROUTER = "PERCENTAGE_ROUTER"
    CONSENSUS_ANNOTATION = "CONSENSUS_ANNOTATION"
    CONSENSUS_REVIEW = "CONSENSUS_REVIEW"
    DONE = "DONE"
    AGENT = "AGENT"


class TaskStatus(enum.StrEnum):
    NEW = "NEW"
    ASSIGNED = "ASSIGNED"
    RELEASED = "RELEASED"
    SKIPPED = "SKIPPED"
    REOPENED = "REOPENED"
    COMPLETED = "COMPLETED"


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


class Settings(_Model):
    """Server behaviour knobs."""

    page_size: int = Field(default=100, ge=1, description="Tasks per page of GET .../tasks")
    upload_polls_until_done: int = Field(
        default=1, ge=0, description="Polls of an upload job answered PENDING before it turns DONE"
    )
    failing_url_substrings: list[str] = Field(
        default_factory=list, description="Upload units whose URL contains one of these fail"
    )
    verify_signatures: bool = True
    label_rows_per_request: int | None = Field(
        default=None, ge=1, description="v1 labelrow GET answers MULTI_LABEL_LIMIT_ERROR above this; None = no limit"
    )
    user_email: str = "double@benchmark-qa.local"
    # Behaviours Encord's sources leave open: each is switchable, and the product is tested under every option
    # (docs/encord-double.md, "Undocumented behaviours").
    link_skip_returns_existing: bool = Field(
        default=False, description="link_items(SKIP): also return the rows of items linked before (else new only)"
    )
    task_page_tokens: Literal["cursor", "offset"] = Field(
        default="cursor",
        description="GET .../tasks nextPageToken: a cursor (tasks leaving the stage shift nothing) or an offset "
        "into the queue as it is at each request (a task leaving the stage between pages shifts the rest back)",
    )
    max_actions_per_request: int | None = Field(
        default=1000, ge=1, description="workflow actions in one request; above it 413 (None: no limit)"
    )
    max_moves_per_request: int | None = Field(
        default=500, ge=1, description="move-tasks task uuids in one request; above it 413 (None: no limit)"
    )
    time_spent_task_uuid: Literal["task", "subtask", "none"] = Field(
        default="task",
        description="What a time-spent row's workflowTaskUuid names for consensus work; Encord's sources are "
        "silent, so each plausible answer can be served (docs/encord-double.md)",
    )


class Ontology(_Model):
    ontology_hash: str
    title: str
    description: str = ""
    structure: dict[str, Any] = Field(description="Editor JSON: {objects: [...], classifications: [...]}")
    created_at: dt.datetime = Field(default_factory=utc_now)


class Pathway(_Model):
    uuid: str = Field(default_factory=new_uuid)
    name: str
    destination_uuid: str


class Stage(_Model):
    uuid: str = Field(default_factory=new_uuid)
    title: str
    stage_type: StageType
    pathways: list[Pathway] = Field(
        default_factory=list, description="AGENT stages; router stages: where they send a task (not served)"
    )
    next_uuid: str | None = Field(default=None, description="Destination of SUBMIT / APPROVE")
    reject_uuid: str | None = Field(default=None, description="Destination of REJECT (review stages)")
    annotators: list[str] = Field(
        default_factory=list, description="CONSENSUS_ANNOTATION: one subtask/branch per annotator"
    )


class Workflow(_Model):
    start_uuid: str = Field(description="Stage the start node points to: new tasks land here")
    stages: list[Stage]

    def stage(self, stage_uuid: str) -> Stage | None:
        return next((s for s in self.stages if s.uuid == stage_uuid), None)


class Subtask(_Model):
    """One annotator's share of a consensus task; its labels live on its own branch."""

    uuid: str = Field(default_factory=new_uuid)
    annotator: str
    branch_name: str
    status: TaskStatus = TaskStatus.ASSIGNED
    created_at: dt.datetime = Field(default_factory=utc_now)
    updated_at: dt.datetime = Field(default_factory=utc_now)


class Task(_Model):
    uuid: str = Field(default_factory=new_uuid)
    data_hash: str
    stage_uuid: str
    status: TaskStatus = TaskStatus.NEW
    assignee: str | None = None
    last_actioned_by: str | None = None
    label_branch_name: str = "main"
    subtasks: list[Subtask] = Field(default_factory=list)
    # Ordering key for the task queue of a stage; bumped whenever the task enters a stage.
    seq: int = 0
    created_at: dt.datetime = Field(default_factory=utc_now)
    updated_at: dt.datetime = Field(default_factory=utc_now)


class LabelRow(_Model):
    label_hash: str = Field(default_factory=new_uuid)
    data_hash: str
    branch_name: str = "main"
    labels: dict[str, Any] | None = Field(
        default=None, description="Encord label-row dict as saved by the SDK; None = empty labels"
    )
    created_at: dt.datetime = Field(default_factory=utc_now)
    last_edited_at: dt.datetime = Field(default_factory=utc_now)


class Project(_Model):
    project_hash: str
    title: str
    description: str = ""
    ontology_hash: str
    dataset_hashes: list[str] = Field(default_factory=list)
    workflow: Workflow
    tasks: dict[str, Task] = Field(default_factory=dict, description="task uuid -> task")
    label_rows: dict[str, LabelRow] = Field(default_factory=dict, description="label hash -> row")
    created_at: dt.datetime = Field(default_factory=utc_now)
    workflow_manager_uuid: str = Field(default_factory=new_uuid)
    removed_users: list[str] = Field(default_factory=list, description="emails removed by Project.remove_users")


class Dataset(_Model):
    dataset_hash: str
    title: str
    description: str = ""
    backing_folder_uuid: str | None = None
    created_at: dt.datetime = Field(default_factory=utc_now)


class DataUnit(_Model):
    """One data row of a dataset (video, image, image group, ...)."""

    data_hash: str = Field(default_factory=new_uuid)
    dataset_hash: str
    title: str
    data_type: str = Field(default="image", description="Lower-case encord DataType value")
    file_link: str = ""
    backing_item_uuid: str | None = None
    width: int | None = 1920
    height: int | None = 1080
    frames: int = 1
    fps: float | None = None
    created_at: dt.datetime = Field(default_factory=utc_now)


class StorageFolder(_Model):
    uuid: str = Field(default_factory=new_uuid)
    name: str
    description: str = ""
    parent_uuid: str | None = None
    created_at: dt.datetime = Field(default_factory=utc_now)


class StorageItem(_Model):
    uuid: str = Field(default_factory=new_uuid)
    folder_uuid: str
    name: str
    item_type: str = Field(description="Encord storage item type, e.g. IMAGE, VIDEO, IMAGE_GROUP")
    urls: list[str]
    client_metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: dt.datetime = Field(default_factory=utc_now)


class UnitError(_Model):
    object_urls: list[str]
    error: str
    subtask_uuid: str = Field(default_factory=new_uuid)
    action_description: str


class UploadJob(_Model):
    """A folder upload job (v2 data-upload-jobs) or a dataset upload (v1 datasetdatalongpolling)."""

    uuid: str = Field(default_factory=new_uuid)
    folder_uuid: str
    dataset_hash: str | None = Field(default=None, description="Set for dataset uploads: items get linked")
    manifest: dict[str, Any]
    ignore_errors: bool = False
    file_name: str | None = None
    polls: int = 0
    status: JobStatus = JobStatus.PENDING
    item_uuids: list[str] = Field(default_factory=list)
    data_hashes: list[str] = Field(default_factory=list)
    unit_errors: list[UnitError] = Field(default_factory=list)
    created_at: dt.datetime = Field(default_factory=utc_now)


class IssueComment(_Model):
    content: str
    author_email: str
    created_at: dt.datetime = Field(default_factory=utc_now)


class Issue(_Model):
    uuid: str = Field(default_factory=new_uuid)
    project_hash: str
    data_hash: str
    anchor: dict[str, Any] = Field(description="The SDK's anchor as sent (type, dataUuid, frameIndex, ...)")
    comment: IssueComment
    tags: list[str] = Field(default_factory=list)


class Membership(_Model):
    """What one key's user may reach (Encord's permissions are per project, dataset, storage folder and cloud
    integration). Anything else answers 403 / AUTHORISATION_ERROR. A key without a membership is an admin of
    everything."""

    projects: list[str] = Field(default_factory=list)
    datasets: list[str] = Field(default_factory=list)
    folders: list[str] = Field(default_factory=list)
    integrations: list[str] = Field(default_factory=list)


class Integration(_Model):
    """A cloud integration (made in Encord's app, not through the SDK); upload jobs must name a known one."""

    integration_hash: str
    title: str = "S3 integration"


class WorkflowTemplate(_Model):
    """A workflow template made in Encord's UI (the SDK can only name one when it creates a project)."""

    template_uuid: str = Field(default_factory=new_uuid)
    title: str
    workflow: Workflow


class TimeSpentEntry(_Model):
    """Seconds one user spent on one task on one day, as Encord's editor measures them (analytics/time-spent)."""

    project_hash: str
    user_email: str
    task_uuid: str
    subtask_uuid: str | None = None
    data_hash: str
    stage_uuid: str
    day: dt.date
    seconds: int = Field(ge=0)


class DoubleState(_Model):
    """Root of the state file. See docs/encord-double.md."""

    version: int = STATE_FORMAT_VERSION
    settings: Settings = Field(default_factory=Settings)
    public_keys: list[str] = Field(default_factory=list, description="Raw Ed25519 public keys, hex")
    ontologies: dict[str, Ontology] = Field(default_factory=dict)
    projects: dict[str, Project] = Field(default_factory=dict)
    datasets: dict[str, Dataset] = Field(default_factory=dict)
    data_units: dict[str, DataUnit] = Field(default_factory=dict, description="data hash -> data unit")
    storage_folders: dict[str, StorageFolder] = Field(default_factory=dict)
    storage_items: dict[str, StorageItem] = Field(default_factory=dict)
    upload_jobs: dict[str, UploadJob] = Field(default_factory=dict)
    issues: list[Issue] = Field(default_factory=list)
    integrations: dict[str, Integration] = Field(default_factory=dict, description="integration hash -> integration")
    memberships: dict[str, Membership] = Field(
        default_factory=dict, description="public key (hex) -> what its user may reach; absent: everything"
    )
    workflow_templates: dict[str, WorkflowTemplate] = Field(default_factory=dict)
    time_spent: list[TimeSpentEntry] = Field(default_factory=list)
    next_seq: int = 1

    def take_seq(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> DoubleState:
        return cls.model_validate(json.loads(text))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> DoubleState:
        return cls.from_json(path.read_text(encoding="utf-8"))
