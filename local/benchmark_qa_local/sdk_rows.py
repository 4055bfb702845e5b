"""A label-row dict parsed by the SDK's own LabelRowV2, offline (no project client, no HTTP): the reference the
engine's reader is checked against, and the object model the score worker no longer builds (`bench worker_read`).
Section D of the SDK reference (encord-sdk.md, "Offline LabelRowV2")."""

from __future__ import annotations

import datetime
from typing import Any


def offline_label_row(structure: dict[str, Any], row: dict[str, Any], frames: int) -> Any:
    """`row` (a label-row dict of `structure`'s ontology, up to `frames` frames) as a parsed LabelRowV2."""
    from encord.objects.ontology_labels_impl import LabelRowV2
    from encord.objects.ontology_structure import OntologyStructure
    from encord.ontology import Ontology as SdkOntology
    from encord.orm.label_row import LabelRowMetadata
    from encord.orm.ontology import Ontology as OrmOntology

    when = datetime.datetime(2024, 1, 1)
    orm = OrmOntology(
        title="t", structure=OntologyStructure.from_dict(structure), ontology_hash="o", created_at=when,
        last_edited_at=when,
    )  # fmt: skip
    meta = LabelRowMetadata.from_dict(
        {
            "label_hash": row["label_hash"], "branch_name": "main", "data_hash": row["data_hash"],
            "dataset_hash": "d", "dataset_title": "d", "data_title": "d", "data_type": row["data_type"].upper(),
            "data_link": None, "spaces": {}, "label_status": "LABELLED", "number_of_frames": frames,
            "created_at": None, "last_edited_at": None,
        }
    )  # fmt: skip
    label_row = LabelRowV2(meta, None, SdkOntology(orm, api_client=None))  # type: ignore[arg-type]
    label_row.from_labels_dict(row)
    return label_row
