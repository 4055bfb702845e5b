"""`benchmark-qa status --audit`: the state table checked against the bucket and the manifests in it.

Every object version the pipeline saw must end in exactly one manifest (and then be registered), or be skipped,
failed or deleted with a reason; nothing may wait in an intermediate state past a deadline; no URL may be sent
in two manifests. Each finding names the key, what is wrong and what to do. The soak run (`make soak`) counts its
"lost", "duplicated" and "unexplained" from these findings.

Reads: one ListObjectVersions of each dataset prefix, one Scan of the table, and each manifest's JSON.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmark_qa.bucket import normal_version
from benchmark_qa.ingest.items import Role
from benchmark_qa.ingest.urls import key_from_object_url
from benchmark_qa.store.table import from_dynamo, scan
from benchmark_qa.store.uploads import ObjectRecord

# A record this long in an intermediate state is stuck: the sweep recovers claimed manifests after 2 minutes and
# fails them after 3 attempts; registration fails a job after 24 h; pending singles are written within a sweep.
STUCK_AFTER = timedelta(hours=1)
INTERMEDIATE = ("pending", "claimed", "in_manifest")
EXPLAINED = ("skipped", "failed", "deleted")
LOST, DUPLICATED, UNEXPLAINED = "lost", "duplicated", "unexplained"


@dataclass(frozen=True)
class Finding:
    kind: str  # lost | duplicated | unexplained
    key: str
    detail: str


@dataclass
class AuditReport:
    objects: int = 0  # current object versions under the dataset prefixes
    records: Counter[str] = field(default_factory=Counter)  # status -> records
    manifests: int = 0
    in_flight: int = 0  # objects too new to judge (their events may still be queued)
    findings: list[Finding] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def ok(self) -> bool:
        return not self.findings

    def render(self) -> str:
        lines = [
            f"objects in the bucket: {self.objects} ({self.in_flight} too new to judge)",
            "records: " + ", ".join(f"{n} {status}" for status, n in sorted(self.records.items())),
            f"manifests: {self.manifests}",
            f"lost: {self.count(LOST)}, duplicated: {self.count(DUPLICATED)}, unexplained: {self.count(UNEXPLAINED)}",
        ]
        lines += [f"  {f.kind:<11} {f.key}: {f.detail}" for f in self.findings[:200]]
        if len(self.findings) > 200:
            lines.append(f"  ... and {len(self.findings) - 200} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Listed:
    key: str
    etag: str | None
    version_id: str | None
    modified: datetime


class Auditor:
    def __init__(
        self,
        table: Any,
        s3: Any,
        bucket: str,
        prefixes: Iterable[str],
        *,
        now: datetime | None = None,
        grace: timedelta = timedelta(minutes=15),
        stuck_after: timedelta = STUCK_AFTER,
    ) -> None:
        self.table, self.s3, self.bucket = table, s3, bucket
        self.prefixes = [p.strip("/") + "/" for p in prefixes]
        self.now = now or datetime.now(UTC)
        self.grace, self.stuck_after = grace, stuck_after
        self.report = AuditReport()

    def run(self) -> AuditReport:
        kinds = {":o": "object", ":m": "manifest"}
        items = [from_dynamo(i) for i in scan(self.table, FilterExpression="kind IN (:o, :m)", values=kinds)]
        records = [ObjectRecord.from_item(i) for i in items if i.get("kind") == "object"]
        manifests = {i["manifest_id"]: i for i in items if i.get("kind") == "manifest"}
        self.report.records = Counter(r.status for r in records)
        self.report.manifests = len(manifests)
        self._bucket_against_records(records)
        self._records_explained(records, manifests)
        self._urls_sent_once(records, manifests)
        return self.report

    def _find(self, kind: str, key: str, detail: str) -> None:
        self.report.findings.append(Finding(kind, key, detail))

    # ------------------------------------------------------------------ the bucket
    def _listed(self) -> list[Listed]:
        found = []
        paginator = self.s3.get_paginator("list_object_versions")
        for prefix in self.prefixes:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                found += [
                    Listed(
                        v["Key"],
                        str(v.get("ETag", "")).strip('"') or None,
                        normal_version(v.get("VersionId")),
                        v["LastModified"],
                    )
                    for v in page.get("Versions", [])
                    if v.get("IsLatest")
                ]
        return found

    def _bucket_against_records(self, records: list[ObjectRecord]) -> None:
        """Every current object version has a record of its own (the eTag, as ingest keys them)."""
        by_key: dict[str, list[ObjectRecord]] = defaultdict(list)
        for record in records:
            by_key[record.key].append(record)
        for listed in self._listed():
            self.report.objects += 1
            if listed.key.endswith("/") and not by_key.get(listed.key):
                continue  # a folder placeholder the console made: recorded only when its event came
            versions = (listed.etag, listed.version_id)
            if any(r.etag == listed.etag or r.version in versions for r in by_key.get(listed.key, [])):
                continue
            if self.now - listed.modified < self.grace:
                self.report.in_flight += 1
                continue
            self._find(
                LOST,
                listed.key,
                f"in the bucket (eTag {listed.etag}) with no record: its notification never arrived or failed (see "
                "IngestDeadLetterQueue); `benchmark-qa backfill` ingests it",
            )

    # ------------------------------------------------------------------ the records
    def _records_explained(self, records: list[ObjectRecord], manifests: dict[str, dict[str, Any]]) -> None:
        stuck_before = (self.now - self.stuck_after).isoformat(timespec="milliseconds")
        for record in records:
            if record.status in EXPLAINED and not record.reason:
                self._find(UNEXPLAINED, record.key, f"{record.status} without a reason")
            elif record.status in INTERMEDIATE and (record.updated_at or record.received_at) < stuck_before:
                self._find(UNEXPLAINED, record.key, f"{record.status} since {record.updated_at}: stuck")
            elif record.status in ("in_manifest", "registered") and record.manifest_id not in manifests:
                self._find(UNEXPLAINED, record.key, f"{record.status} in manifest {record.manifest_id}, not recorded")
            elif record.status == "registered" and not (record.encord or {}).get("item_uuid"):
                self._find(UNEXPLAINED, record.key, "registered without an Encord item")
        own = [r for r in records if r.role == Role.ITEM.value and not r.version.startswith("external")]
        registered: dict[str, set[str]] = defaultdict(set)
        for record in own:
            if record.status == "registered" and record.encord:
                registered[record.key].add(str(record.encord.get("item_uuid")))
        for key, items in registered.items():
            if len(items) > 1:
                self._find(DUPLICATED, key, f"registered as {len(items)} Encord items: {sorted(items)}")

    # ------------------------------------------------------------------ the manifests
    def _urls_sent_once(self, records: list[ObjectRecord], manifests: dict[str, dict[str, Any]]) -> None:
        """Each URL is in one manifest of the pipeline's own (metadata updates re-send entries on purpose, and
        manifests written by hand are the user's), and that manifest is the one its record names."""
        in_manifest = {(r.key, r.manifest_id) for r in records if r.manifest_id}
        sent: dict[str, list[str]] = defaultdict(list)
        for manifest_id, manifest in manifests.items():
            if manifest.get("manifest_kind") in ("metadata_update", "external") or not manifest.get("s3_key"):
                continue
            if manifest.get("status") in ("claimed", "empty"):
                continue
            for url in self._urls(manifest["s3_key"]):
                _, key = key_from_object_url(url)
                sent[key].append(manifest_id)
                if (key, manifest_id) not in in_manifest:
                    self._find(UNEXPLAINED, key, f"sent in manifest {manifest_id}, but its record does not say so")
        for key, where in sent.items():
            if len(where) > 1:
                self._find(DUPLICATED, key, f"sent in {len(where)} manifests: {sorted(where)}")

    def _urls(self, s3_key: str) -> list[str]:
        import json

        try:
            document = json.loads(self.s3.get_object(Bucket=self.bucket, Key=s3_key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return []
        return [
            str(url)
            for value in document.values()
            if isinstance(value, list)
            for entry in value
            for name, url in entry.items()
            if name == "objectUrl" or name.startswith("objectUrl_")
        ]
