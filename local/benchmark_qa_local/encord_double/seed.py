"""The standard Benchmark QA setup, seeded straight into a `DoubleState`.

Production Project workflow (as in Encord's Benchmark QA docs):

    start -> "Benchmark Task?" (agent) --YES--> "Consensus 1" (annotate, N annotators) -> "Consensus 1" (review)
                                                                    "Consensus 1" --approve--> "Complete"
                                                                    "Consensus 1" --reject---> "Archive"
                                        --NO---> "Annotate 1" -> "Review 1" -> "Complete"  (reject -> "Annotate 1")

Benchmark Project: "Annotate 1" -> "Review 1" -> "Complete", holding the ground truth of the benchmark dataset.

Both stages of the consensus block carry the block's title, as Encord builds it (encord-client-python PR #974
asks for get_stage(name="Consensus 1", type_=ConsensusAnnotationStage), Encord's Benchmark QA docs for
get_stage(name="Consensus 1", type_=ConsensusReviewStage)); `review_first` lists the review stage first, the
other order Encord's API may use. `StandardSetup.production_stages` is keyed by role, so its "Consensus 1
Annotate" key is the annotate stage although that stage is titled "Consensus 1" too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from encord.objects import OntologyStructure, Shape
from encord.objects.attributes import RadioAttribute

from .datasets import add_data_unit, attach_dataset
from .state import (
    Dataset,
    DataUnit,
    DoubleState,
    Integration,
    Ontology,
    Pathway,
    Project,
    Stage,
    StageType,
    StorageItem,
    Workflow,
    new_uuid,
)
from .storage import add_folder

DEFAULT_ANNOTATORS = ("annotator1@benchmark-qa.local", "annotator2@benchmark-qa.local")


@dataclass(frozen=True)
class StandardSetup:
    ontology_hash: str
    benchmark_project_hash: str
    production_project_hash: str
    benchmark_dataset_hash: str
    production_dataset_hash: str
    folder_uuid: str
    integration_hash: str
    production_stages: dict[str, str]  # stage role (its title, or "Consensus 1 Annotate") -> uuid
    benchmark_stages: dict[str, str]
    annotators: tuple[str, ...]
    benchmark_data_hashes: tuple[str, ...]
    production_data_hashes: tuple[str, ...]

    def stage_roles(self) -> dict[str, str]:
        """Production stage uuid -> its role: what to show for a stage when titles repeat."""
        return {uuid: role for role, uuid in self.production_stages.items()}


def stage_roles_of(workflow: Workflow) -> dict[str, str]:
    """Stage role -> uuid for a workflow built like the standard one: its titles, with the consensus block's
    annotate stage (titled like its review stage) as "Consensus 1 Annotate"."""
    return {
        (f"{stage.title} Annotate" if stage.stage_type == StageType.CONSENSUS_ANNOTATION else stage.title): stage.uuid
        for stage in workflow.stages
    }


def standard_ontology() -> dict[str, Any]:
    """A bounding box object and a radio classification, built with the SDK so the editor JSON is valid."""
    structure = OntologyStructure()
    structure.add_object(name="Box", shape=Shape.BOUNDING_BOX)
    classification = structure.add_classification()
    quality = classification.add_attribute(RadioAttribute, "Quality")
    quality.add_option("good")
    quality.add_option("bad")
    return structure.to_dict()


CONSENSUS_BLOCK = "Consensus 1"


def _production_workflow(annotators: Sequence[str], *, review_first: bool = False) -> tuple[Workflow, dict[str, str]]:
    ids = {
        name: new_uuid()
        for name in (
            "Benchmark Task?",
            "Consensus 1 Annotate",
            "Consensus 1",
            "Annotate 1",
            "Review 1",
            "Complete",
            "Archive",
        )
    }
    stages = [
        Stage(
            uuid=ids["Benchmark Task?"],
            title="Benchmark Task?",
            stage_type=StageType.AGENT,
            pathways=[
                Pathway(name="YES", destination_uuid=ids["Consensus 1 Annotate"]),
                Pathway(name="NO", destination_uuid=ids["Annotate 1"]),
            ],
        ),
    ]
    block = [
        Stage(
            uuid=ids["Consensus 1 Annotate"],
            title=CONSENSUS_BLOCK,
            stage_type=StageType.CONSENSUS_ANNOTATION,
            next_uuid=ids["Consensus 1"],
            annotators=list(annotators),
        ),
        Stage(
            uuid=ids["Consensus 1"],
            title=CONSENSUS_BLOCK,
            stage_type=StageType.CONSENSUS_REVIEW,
            next_uuid=ids["Complete"],
            reject_uuid=ids["Archive"],
        ),
    ]
    stages += block[::-1] if review_first else block
    stages += [
        Stage(uuid=ids["Annotate 1"], title="Annotate 1", stage_type=StageType.ANNOTATION, next_uuid=ids["Review 1"]),
        Stage(
            uuid=ids["Review 1"],
            title="Review 1",
            stage_type=StageType.REVIEW,
            next_uuid=ids["Complete"],
            reject_uuid=ids["Annotate 1"],
        ),
        Stage(uuid=ids["Complete"], title="Complete", stage_type=StageType.DONE),
        Stage(uuid=ids["Archive"], title="Archive", stage_type=StageType.DONE),
    ]
    return Workflow(start_uuid=ids["Benchmark Task?"], stages=stages), ids


def _benchmark_workflow() -> Workflow:
    annotate, review, complete = new_uuid(), new_uuid(), new_uuid()
    return Workflow(
        start_uuid=annotate,
        stages=[
            Stage(uuid=annotate, title="Annotate 1", stage_type=StageType.ANNOTATION, next_uuid=review),
            Stage(uuid=review, title="Review 1", stage_type=StageType.REVIEW, next_uuid=complete, reject_uuid=annotate),
            Stage(uuid=complete, title="Complete", stage_type=StageType.DONE),
        ],
    )


def _add_units(state: DoubleState, dataset_hash: str, folder_uuid: str, prefix: str, count: int) -> tuple[str, ...]:
    """Images, each backed by a storage item in the folder, as every data unit is in Encord (the item is what
    encord-agents' dep_storage_item reads through `backing_item_uuid`)."""
    hashes = []
    for i in range(count):
        name = f"{prefix}-{i:04d}.jpg"
        url = f"https://benchmark-qa-demo.s3.us-east-1.amazonaws.com/{prefix}/{name}"
        item = StorageItem(folder_uuid=folder_uuid, name=name, item_type="IMAGE", urls=[url])
        state.storage_items[item.uuid] = item
        unit = DataUnit(dataset_hash=dataset_hash, title=name, file_link=url, backing_item_uuid=item.uuid)
        hashes.append(add_data_unit(state, unit).data_hash)
    return tuple(hashes)


def seed_standard_setup(
    state: DoubleState,
    *,
    annotators: Sequence[str] = DEFAULT_ANNOTATORS,
    benchmark_items: int = 3,
    production_items: int = 3,
    ontology: dict[str, Any] | None = None,
    review_first: bool = False,
) -> StandardSetup:
    """`ontology` is the editor JSON both projects use; `standard_ontology()` when not given. `review_first`
    lists the consensus block's review stage before its annotate stage (both are titled "Consensus 1")."""
    structure = ontology if ontology is not None else standard_ontology()
    record = Ontology(ontology_hash=new_uuid(), title="Benchmark QA ontology", structure=structure)
    state.ontologies[record.ontology_hash] = record

    folder = add_folder(state, "benchmark-qa", "Uploads of the Benchmark QA demo")
    integration = Integration(integration_hash=new_uuid(), title="benchmark-qa-demo bucket")
    state.integrations[integration.integration_hash] = integration
    benchmark_ds = Dataset(dataset_hash=new_uuid(), title="Benchmark Dataset", backing_folder_uuid=folder.uuid)
    production_ds = Dataset(dataset_hash=new_uuid(), title="Production Dataset", backing_folder_uuid=folder.uuid)
    state.datasets[benchmark_ds.dataset_hash] = benchmark_ds
    state.datasets[production_ds.dataset_hash] = production_ds

    benchmark = Project(
        project_hash=new_uuid(),
        title="Benchmark Project",
        ontology_hash=record.ontology_hash,
        workflow=_benchmark_workflow(),
    )
    production_workflow, production_stages = _production_workflow(annotators, review_first=review_first)
    production = Project(
        project_hash=new_uuid(),
        title="Production Project",
        ontology_hash=record.ontology_hash,
        workflow=production_workflow,
    )
    state.projects[benchmark.project_hash] = benchmark
    state.projects[production.project_hash] = production
    attach_dataset(state, benchmark.project_hash, benchmark_ds.dataset_hash)
    attach_dataset(state, production.project_hash, benchmark_ds.dataset_hash)
    attach_dataset(state, production.project_hash, production_ds.dataset_hash)

    bench_units = _add_units(state, benchmark_ds.dataset_hash, folder.uuid, "benchmark", benchmark_items)
    prod_units = _add_units(state, production_ds.dataset_hash, folder.uuid, "production", production_items)
    return StandardSetup(
        ontology_hash=record.ontology_hash,
        benchmark_project_hash=benchmark.project_hash,
        production_project_hash=production.project_hash,
        benchmark_dataset_hash=benchmark_ds.dataset_hash,
        production_dataset_hash=production_ds.dataset_hash,
        folder_uuid=folder.uuid,
        integration_hash=integration.integration_hash,
        production_stages=production_stages,
        benchmark_stages={s.title: s.uuid for s in benchmark.workflow.stages},
        annotators=tuple(annotators),
        benchmark_data_hashes=bench_units,
        production_data_hashes=prod_units,
    )
