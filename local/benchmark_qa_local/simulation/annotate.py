"""Writing ground truth and simulated annotations into Encord (the double) through the unmodified SDK.

Everything goes through SDK calls: `list_label_rows_v2` -> `initialise_labels` (creates a branch row on first
use) -> `from_labels_dict` -> `save`, and `subtask.submit()`. No state is seeded directly, because the SDK
offers a call for every step.

Who is the annotator: the double attributes a consensus subtask to the annotator listed on the stage (the
subtask's `assignee`), not to the key that signs the request, so one client may play every annotator. Real
Encord checks that the caller may act on the subtask; pass one client per annotator email for that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from encord import EncordUserClient, Project
from encord.objects import LabelRowV2
from encord.workflow import ConsensusAnnotationStage

from ..encord_double.seed import StandardSetup
from .ground_truth import generate_scene
from .profiles import Profile, annotator_label_row
from .scene import DEFAULT_HEIGHT, DEFAULT_WIDTH, Scene, label_row_dict

CONSENSUS_ANNOTATE = "Consensus 1 Annotate"
GROUND_TRUTH_AUTHOR = "ground-truth@benchmark-qa.local"

Clients = EncordUserClient | Mapping[str, EncordUserClient]


def _write(row: LabelRowV2, make: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Open the row (creating it on its branch if needed), replace its labels with `make(base=...)`, save.
    Returns what was saved."""
    row.initialise_labels()
    # The row's own dict supplies identity (label hash, branch, data unit) so the save targets this row.
    row.from_labels_dict(make(base=row.to_encord_dict()))
    row.save()
    saved: dict[str, Any] = row.to_encord_dict()
    return saved


def _image_rows(project: Project, data_hashes: Iterable[str] | None, branch_name: str = "main") -> list[LabelRowV2]:
    hashes = list(data_hashes) if data_hashes is not None else None
    rows = project.list_label_rows_v2(data_hashes=hashes, branch_name=branch_name)
    return [r for r in rows if r.data_type.value == "image"]  # ground truth is generated for images only


def write_ground_truth(
    client: EncordUserClient,
    setup: StandardSetup,
    seed: int,
    *,
    data_hashes: Iterable[str] | None = None,
    saved_as: Callable[[dict[str, Scene]], dict[str, Scene]] | None = None,
) -> dict[str, Scene]:
    """Generate and save the truth of every image data unit of the Benchmark Project (or of `data_hashes`) on
    its main branch. Returns data hash -> truth `Scene`, which `annotate` needs. The truth depends on
    (`seed`, data title) only. The project must use the demo ontology (`seed_standard_setup(ontology=...)`)."""
    project = client.get_project(setup.benchmark_project_hash)
    rows = _image_rows(project, data_hashes)
    truth = {
        row.data_hash: generate_scene(
            row.data_hash, row.data_title, seed, width=row.width or DEFAULT_WIDTH, height=row.height or DEFAULT_HEIGHT
        )
        for row in rows
    }
    # `saved_as` may change what is saved (planted ground-truth mistakes); the annotators still see `truth`.
    written = saved_as(truth) if saved_as is not None else truth
    for row in rows:
        _write(row, partial(label_row_dict, written[row.data_hash], author=GROUND_TRUTH_AUTHOR))
    return truth


def image_indices(truth: Mapping[str, Scene]) -> dict[str, int]:
    """Data hash -> position by data title: the stratification index used for per-image errors."""
    ordered = sorted(truth.values(), key=lambda s: (s.data_title, s.data_hash))
    return {scene.data_hash: i for i, scene in enumerate(ordered)}


def _client_for(clients: Clients, annotator: str) -> EncordUserClient:
    if isinstance(clients, EncordUserClient):
        return clients
    try:
        return clients[annotator]
    except KeyError:
        raise KeyError(f"no client for annotator {annotator!r}; have {sorted(clients)}") from None


def _consensus_stage(client: EncordUserClient, setup: StandardSetup) -> tuple[Project, ConsensusAnnotationStage]:
    project = client.get_project(setup.production_project_hash)
    # By uuid: both stages of the block are titled "Consensus 1", and the SDK's get_stage(name=...) takes the
    # first title match whatever its type (encord/workflow/workflow.py:110-116).
    stage = setup.production_stages[CONSENSUS_ANNOTATE]
    return project, project.workflow.get_stage(uuid=stage, type_=ConsensusAnnotationStage)


def _open(status: Any) -> bool:
    return str(getattr(status, "value", status)) != "COMPLETED"


def annotate(
    clients: Clients,
    setup: StandardSetup,
    truth: Mapping[str, Scene],
    annotators: Mapping[str, Profile],
    seed: int,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every annotator labels its subtask of every benchmark task waiting in "Consensus 1 Annotate" and submits
    it; when the last subtask of a task is in, the double moves the task to "Consensus 1".

    `truth` is `write_ground_truth`'s result (tasks whose data hash is not in it are left alone, e.g.
    production tasks); `annotators` maps each annotator email of the stage to its profile. Returns
    data hash -> annotator -> the label-row dict saved on that annotator's branch. Raises `KeyError` before
    writing anything if an open subtask belongs to an annotator without a profile (or without a client).
    """
    first = clients if isinstance(clients, EncordUserClient) else next(iter(clients.values()))
    _, stage = _consensus_stage(first, setup)
    assignees = {
        str(sub.assignee)
        for parent in stage.get_tasks()
        if str(parent.data_hash) in truth
        for sub in parent.subtasks
        if _open(sub.status)
    }
    if missing := sorted(assignees - set(annotators)):
        raise KeyError(f"consensus subtasks assigned to annotators without a profile: {missing}")
    writers = {annotator: _client_for(clients, annotator) for annotator in sorted(assignees)}

    indices = image_indices(truth)
    saved: dict[str, dict[str, dict[str, Any]]] = {}
    for annotator, client in writers.items():
        profile = annotators[annotator]
        # Each annotator works through its own view of the queue, as it would in the Encord editor.
        project, stage = _consensus_stage(client, setup)
        for parent in list(stage.get_tasks()):
            data_hash = str(parent.data_hash)
            if data_hash not in truth:
                continue
            for sub in parent.subtasks:
                if sub.assignee != annotator or not _open(sub.status):
                    continue
                [row] = project.list_label_rows_v2(data_hashes=[data_hash], branch_name=sub.label_branch_name)
                make = partial(
                    annotator_label_row,
                    truth[data_hash],
                    profile,
                    seed,
                    annotator=annotator,
                    image_index=indices[data_hash],
                )
                saved.setdefault(data_hash, {})[annotator] = _write(row, make)
                sub.submit()
    return saved
