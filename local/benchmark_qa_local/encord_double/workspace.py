"""The workspace: what `benchmark-qa setup` finds or creates through the SDK (storage folders, datasets,
ontologies, projects from a workflow template) and what only Encord's UI makes (cloud integrations, workflow
templates), which the double seeds.

Each behaviour and the SDK call it serves (site-packages/encord, 0.1.211):

* `create_storage_folder` POSTs `storage/folders` and is never retried (storage.py:2048-2073,
  `allow_retries=False`); `list_storage_folders(search=...)` pages `GET storage/folders`, top-level folders only
  (user_client.py:1535-1584, "List top-level storage folders"). Folder names need not be unique.
* `create_dataset` POSTs `datasets` with `createBackingFolder`, never retried (user_client.py:261-289); with a
  backing folder the dataset mirrors a new folder of the same name (orm/dataset.py:1176-1212, "a 'not None'
  indicates a legacy mirror dataset"). `get_datasets(title_eq=...)` reads `GET datasets/list`, one answer
  `{"result": [...]}` (user_client.py:334-397).
* `create_ontology` POSTs `ontologies`, never retried (user_client.py:1050-1088); `get_ontologies` reads only
  the first page of `GET ontologies` (user_client.py:1004-1048), so the double answers in one page.
* `list_projects(title_eq=...)` pages `GET projects` as `ProjectDTO`s (user_client.py:487-534).
* `create_project` is the v1 `project` POST through `basic_setter`, never retried (user_client.py:611-649,
  http/querier.py:136-151); it answers the new project hash. Without an ontology Encord creates an empty one,
  without a template it uses "the default standard workflow" (the docstring, user_client.py:627-628). A template
  is named by its UUID (encord-client-python tests/docs/project_create_project.py). Stages of the new project
  get new UUIDs: whether Encord keeps the template's is undocumented, and the product resolves stages by name.
* `get_cloud_integrations` reads `GET cloud-integrations` with title and UUID filters
  (user_client.py:969-1002).

Titles are matched exactly (`title_eq`) or with SQL LIKE wildcards (`title_like`, "SQL syntax" in the
docstrings); a folder `search` is a case-insensitive substring, as the double's item search is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .datasets import attach_dataset
from .errors import invalid, not_found
from .paging import make_page_token, read_page_token
from .seed import DEFAULT_ANNOTATORS, _benchmark_workflow, _production_workflow
from .state import (
    Dataset,
    DoubleState,
    Integration,
    Ontology,
    Pathway,
    Project,
    StorageFolder,
    Workflow,
    WorkflowTemplate,
    new_uuid,
)
from .storage import add_folder, folder_json


# ---------------------------------------------------------------------------------------------- seeding (the UI)
def add_integration(state: DoubleState, title: str, integration_uuid: str | None = None) -> Integration:
    integration = Integration(integration_hash=integration_uuid or new_uuid(), title=title)
    state.integrations[integration.integration_hash] = integration
    return integration


def add_workflow_template(state: DoubleState, title: str, workflow: Workflow) -> WorkflowTemplate:
    template = WorkflowTemplate(title=title, workflow=workflow)
    state.workflow_templates[template.template_uuid] = template
    return template


def benchmark_workflow() -> Workflow:
    """The standard setup's Benchmark workflow (seed.py), as a template holds it."""
    return _benchmark_workflow()


def production_workflow(annotators: Sequence[str]) -> Workflow:
    """The standard setup's Production workflow (seed.py): agent stage, consensus block, normal annotation."""
    workflow, _ = _production_workflow(annotators)
    return workflow


def copy_workflow(workflow: Workflow) -> Workflow:
    """The template's graph with new stage and pathway UUIDs, every edge re-pointed."""
    ids = {stage.uuid: new_uuid() for stage in workflow.stages}

    def moved(uuid: str | None) -> str | None:
        return ids.get(uuid, uuid) if uuid is not None else None

    stages = [
        stage.model_copy(
            update={
                "uuid": ids[stage.uuid],
                "next_uuid": moved(stage.next_uuid),
                "reject_uuid": moved(stage.reject_uuid),
                "pathways": [
                    Pathway(name=p.name, destination_uuid=ids.get(p.destination_uuid, p.destination_uuid))
                    for p in stage.pathways
                ],
            },
            deep=True,
        )
        for stage in workflow.stages
    ]
    return Workflow(start_uuid=ids.get(workflow.start_uuid, workflow.start_uuid), stages=stages)


Named = TypeVar("Named", Dataset, Ontology, Project)


# ---------------------------------------------------------------------------------------------- filters
def like(pattern: str) -> Callable[[str], bool]:
    """SQL LIKE: % is any run of characters, _ any one character; case-insensitive, as ILIKE."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    compiled = re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)
    return lambda text: compiled.match(text) is not None


def matches_text(value: str, *, eq: str | None, like_pattern: str | None) -> bool:
    return (eq is None or value == eq) and (like_pattern is None or like(like_pattern)(value))


@dataclass(frozen=True)
class TextFilters:
    """The title and description filters of the listing calls (`title_eq`, `title_like`, `desc_eq`, ...)."""

    title_eq: str | None = None
    title_like: str | None = None
    desc_eq: str | None = None
    desc_like: str | None = None

    def matching(self, resources: Iterable[Named]) -> list[Named]:
        return [
            r
            for r in resources
            if matches_text(r.title, eq=self.title_eq, like_pattern=self.title_like)
            and matches_text(r.description, eq=self.desc_eq, like_pattern=self.desc_like)
        ]


def _page(items: list[Any], page_size: int, token: str | None) -> tuple[list[Any], str | None]:
    if not 1 <= page_size <= 1000:
        raise invalid("pageSize must be between 1 and 1000")
    start = read_page_token("offset", token) if token else 0
    page = items[start : start + page_size]
    end = start + len(page)
    return page, (make_page_token("offset", end) if end < len(items) else None)


# ---------------------------------------------------------------------------------------------- folders
def create_folder(state: DoubleState, name: str, description: str | None, parent: str | None) -> StorageFolder:
    if not name.strip():
        raise invalid("A folder needs a name")
    if parent is not None and parent not in state.storage_folders:
        raise not_found(f"Parent folder {parent} not found")
    folder = add_folder(state, name, description or "")
    folder.parent_uuid = parent
    return folder


def list_folders(
    state: DoubleState,
    *,
    search: str | None,
    dataset_synced: bool | None,
    order: str,
    desc: bool,
    page_size: int,
    page_token: str | None,
) -> tuple[list[StorageFolder], str | None]:
    if order not in {"name", "createdAt"}:
        raise invalid(f"Unknown order {order!r}")
    needle = search.casefold() if search else None
    found = [
        f
        for f in state.storage_folders.values()
        if f.parent_uuid is None
        and (needle is None or needle in f.name.casefold())
        and (dataset_synced is None or (folder_json(state, f)["syncedDatasetHash"] is not None) == dataset_synced)
    ]
    key = (lambda f: (f.name, f.uuid)) if order == "name" else (lambda f: (f.created_at.isoformat(), f.uuid))
    found.sort(key=key, reverse=desc)
    return _page(found, page_size, page_token)


# ---------------------------------------------------------------------------------------------- datasets
def create_dataset(state: DoubleState, title: str, description: str | None, backing_folder: bool) -> Dataset:
    if not title.strip():
        raise invalid("A dataset needs a title")
    folder = add_folder(state, title, description or "") if backing_folder else None
    dataset = Dataset(
        dataset_hash=new_uuid(),
        title=title,
        description=description or "",
        backing_folder_uuid=folder.uuid if folder else None,
    )
    state.datasets[dataset.dataset_hash] = dataset
    return dataset


def dataset_with_role_json(dataset: Dataset) -> dict[str, Any]:
    """encord.orm.dataset.DatasetWithUserRole"""
    return {
        "datasetUuid": dataset.dataset_hash,
        "title": dataset.title,
        "description": dataset.description,
        "createdAt": dataset.created_at.isoformat(),
        "lastEditedAt": dataset.created_at.isoformat(),
        "userRole": "admin",
        "storageLocation": None,
        "backingFolderUuid": dataset.backing_folder_uuid,
    }


# ---------------------------------------------------------------------------------------------- ontologies
def create_ontology(state: DoubleState, title: str, description: str, editor: Any) -> Ontology:
    if not title.strip():
        raise invalid("An ontology needs a title")
    if not isinstance(editor, dict):
        raise invalid("editor must be the ontology structure {objects, classifications}")
    ontology = Ontology(ontology_hash=new_uuid(), title=title, description=description, structure=editor)
    state.ontologies[ontology.ontology_hash] = ontology
    return ontology


# ---------------------------------------------------------------------------------------------- projects
def find_projects(
    state: DoubleState, filters: TextFilters, page_size: int, page_token: str | None
) -> tuple[list[Project], str | None]:
    found = filters.matching(state.projects.values())
    found.sort(key=lambda p: (p.created_at.isoformat(), p.project_hash))
    return _page(found, page_size, page_token)


def create_project(state: DoubleState, payload: dict[str, Any]) -> Project:
    """The v1 `project` POST of `EncordUserClient.create_project` (user_client.py:636-648)."""
    title = str(payload.get("title") or "")
    if not title.strip():
        raise invalid("A project needs a title")
    dataset_hashes = [str(h) for h in payload.get("dataset_hashes") or []]
    unknown = [h for h in dataset_hashes if h not in state.datasets]
    if unknown:
        raise not_found(f"Datasets not found: {unknown}")
    ontology_hash = payload.get("ontology_hash")
    if ontology_hash:
        if ontology_hash not in state.ontologies:
            raise not_found(f"Ontology {ontology_hash} not found")
    else:
        ontology_hash = create_ontology(state, title, "", {"objects": [], "classifications": []}).ontology_hash
    template_uuid = payload.get("workflow_template_id")
    if template_uuid is not None:
        template = state.workflow_templates.get(str(template_uuid))
        if template is None:
            raise not_found(f"Workflow template {template_uuid} not found")
        workflow = copy_workflow(template.workflow)
    else:
        workflow = _benchmark_workflow()  # Encord's "default standard workflow" as the double has it
    project = Project(
        project_hash=new_uuid(),
        title=title,
        description=str(payload.get("description") or ""),
        ontology_hash=str(ontology_hash),
        workflow=workflow,
    )
    state.projects[project.project_hash] = project
    for dataset_hash in dataset_hashes:
        attach_dataset(state, project.project_hash, dataset_hash)
    return project


# ---------------------------------------------------------------------------------------------- integrations
def find_integrations(state: DoubleState, *, uuids: Iterable[str], titles: Iterable[str]) -> list[Integration]:
    """Both filters must match when both are given (user_client.py:981-982)."""
    wanted_uuids, wanted_titles = set(uuids), set(titles)
    return [
        i
        for i in state.integrations.values()
        if (not wanted_uuids or i.integration_hash in wanted_uuids) and (not wanted_titles or i.title in wanted_titles)
    ]


# ---------------------------------------------------------------------------------------------- the UI's part
@dataclass(frozen=True)
class UiSetup:
    """What a user makes in Encord's UI before `benchmark-qa setup` (docs/setup.md): the two workflow templates
    and the cloud integration."""

    benchmark_template_uuid: str
    production_template_uuid: str
    integration_uuid: str
    integration_title: str


def seed_ui_setup(
    state: DoubleState,
    *,
    annotators: Sequence[str] = DEFAULT_ANNOTATORS,
    integration_title: str = "benchmark-qa uploads",
) -> UiSetup:
    """The templates hold the workflows of the standard setup (seed.py), so what `setup` creates from them runs
    the demo's workflow."""
    benchmark = add_workflow_template(state, "Establishing Benchmarks", benchmark_workflow())
    production = add_workflow_template(state, "Benchmark QA Production Labels", production_workflow(annotators))
    integration = add_integration(state, integration_title)
    return UiSetup(benchmark.template_uuid, production.template_uuid, integration.integration_hash, integration.title)
