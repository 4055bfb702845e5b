"""The bucket layout conventions that turn S3 keys into Encord import items (documented in the README).

Every field can be overridden by an environment variable of the same name in upper case (Lambda) or by the
matching `benchmark-qa manifest` flag.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Layout(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    benchmark_prefix: str = Field("benchmark", description="first path segment of benchmark uploads")
    production_prefix: str = Field("production", description="first path segment of production uploads")
    image_groups_dir: str = "image-groups"
    image_sequences_dir: str = "image-sequences"
    dicom_dir: str = "dicom"
    sidecar_suffix: str = ".meta.json"
    group_sidecar_name: str = "_meta.json"
    group_ready_marker: str = Field("_READY", description="object that closes a multi-file item at once")
    group_quiet_seconds: int = Field(600, ge=0, description="a group with no upload for this long is closed")
    max_sidecar_bytes: int = Field(256 * 1024, gt=0)
    manifest_prefix: str = Field("manifests", description="where manifests are written; never ingested")
    skip_duplicate_urls: bool = True
    upsert_metadata: bool = False
    multi_region_access_point_arn: str | None = None
