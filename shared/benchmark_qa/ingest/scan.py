"""Batch assembly: a full listing of objects -> one import manifest per dataset, plus what was skipped and
why and what failed. Used by `benchmark-qa manifest`; the event pipeline does the same incrementally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from benchmark_qa.collector import paused_gc
from benchmark_qa.ingest.dicom import DicomHeader, NotDicom, group_series, read_header
from benchmark_qa.ingest.heads import Heads
from benchmark_qa.ingest.items import Classified, Dataset, DataType, Role, S3Object, SkipReason, classify
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.manifest import (
    ImportManifest,
    MultiFileItem,
    ObjectUrls,
    SingleItem,
    build_manifest,
    checked,
)
from benchmark_qa.ingest.sidecar import Sidecar, SidecarError, check_fits, check_size, parse_sidecar


class ScanError(BaseModel):
    """An item left out of the manifest because of bad input; `message` names the key and the fix."""

    model_config = ConfigDict(frozen=True)

    key: str
    group_id: str | None = None
    message: str


class ScanResult(BaseModel):
    manifests: dict[Dataset, ImportManifest]
    skipped: list[Classified] = Field(default_factory=list)
    errors: list[ScanError] = Field(default_factory=list)

    def parts(self, dataset: Dataset, layout: Layout) -> list[ImportManifest]:
        """The dataset's manifest split to the layout's batch sizes and Encord's limits (`ImportManifest.split`)."""
        return self.manifests[dataset].split(layout)


@dataclass
class _Group:
    first: Classified
    members: list[Classified] = field(default_factory=list)
    broken_members: list[Classified] = field(default_factory=list)
    sidecar: Classified | None = None
    member_sidecars: dict[str, Classified] = field(default_factory=dict)
    ready: bool = False


def _load(sidecar: Classified, read: Callable[[str], bytes], layout: Layout) -> Sidecar:
    key = sidecar.obj.key
    check_size(sidecar.obj.size, key, layout)  # known from the listing: no need to download it to refuse it
    return parse_sidecar(read(key), key, layout)


def _orphan(sidecar: Classified, reason: str) -> Classified:
    return sidecar._replace(role=Role.SKIPPED, skip=SkipReason.ORPHAN_SIDECAR, reason=reason)


@dataclass
class _Sorted:
    singles: dict[str, Classified] = field(default_factory=dict)
    single_sidecars: dict[str, Classified] = field(default_factory=dict)
    sidecars: list[Classified] = field(default_factory=list)
    groups: dict[str, _Group] = field(default_factory=dict)
    skipped: list[Classified] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)


def _sort(objects: Iterable[S3Object], layout: Layout) -> _Sorted:
    out = _Sorted()
    for obj in sorted(objects, key=lambda o: o.key):
        c = classify(obj, layout)
        group_id = c.group_id
        group = None
        if group_id is not None:
            group = out.groups.get(group_id)
            if group is None:
                group = out.groups[group_id] = _Group(first=c)
        if c.role is Role.ITEM:
            out.singles[obj.key] = c
        elif c.role is Role.SIDECAR:
            out.sidecars.append(c)
        elif c.role is Role.GROUP_MEMBER and group is not None:
            group.members.append(c)
        elif c.role is Role.GROUP_SIDECAR and group is not None:
            group.sidecar = c
        elif c.role is Role.READY_MARKER and group is not None:
            group.ready = True
        else:
            out.skipped.append(c)
            if group is not None and c.skip is SkipReason.ZERO_BYTES:
                group.broken_members.append(c)
    return out


def _attach_sidecars(state: _Sorted) -> None:
    member_keys = {m.obj.key: gid for gid, g in state.groups.items() for m in g.members}
    skipped_keys = {c.obj.key for c in state.skipped}
    for sc in state.sidecars:
        described = sc.described_key or ""
        if described in state.singles:
            state.single_sidecars[described] = sc
        elif described in member_keys:
            state.groups[member_keys[described]].member_sidecars[described] = sc
        elif described in skipped_keys:
            reason = f"{sc.obj.key}: describes {described}, which was skipped (see its reason)"
            state.skipped.append(_orphan(sc, reason))
        else:
            reason = (
                f"{sc.obj.key}: describes {described}, which does not exist; upload {described} or delete the sidecar"
            )
            state.skipped.append(_orphan(sc, reason))


def _single(state: _Sorted, c: Classified, read: Callable[[str], bytes], layout: Layout) -> SingleItem | None:
    key = c.obj.key
    assert c.dataset is not None  # set for every ITEM
    assert c.data_type is not None
    sidecar = None
    sc = state.single_sidecars.get(key)
    if sc is not None:
        try:
            sidecar = _load(sc, read, layout)
            check_fits(sidecar, c.data_type, sc.obj.key)
        except SidecarError as exc:
            state.errors.append(ScanError(key=key, message=f"{key} left out: {exc}"))
            return None
    if c.data_type.multi_file:  # never from classify; SingleItem names it
        return SingleItem(obj=c.obj, dataset=c.dataset, data_type=c.data_type, sidecar=sidecar)
    return checked(SingleItem, obj=c.obj, dataset=c.dataset, data_type=c.data_type, sidecar=sidecar)


def scan(
    objects: Iterable[S3Object],
    read: Callable[[str], bytes],
    *,
    region: str,
    layout: Layout,
    heads: Heads | None = None,
    urls: ObjectUrls | None = None,
) -> ScanResult:
    """Classify every object, attach sidecars, assemble groups and build one manifest per dataset.

    With `heads`, files are typed by their content too (`items.needs_content` says which are read) and DICOM
    folders are split into series by their headers; without it, by extension and S3 content type only.
    Bad input never raises: it ends in `skipped` (nothing to import) or `errors` (an item left out until
    its input is fixed). Errors raised by `read` itself (S3 access) propagate.
    """
    if heads is not None:
        objects = heads.detect(objects, layout)
    with paused_gc():  # a scan frees nothing until it returns (collector.py)
        return _scan(objects, read, region, layout, heads, urls)


def _scan(
    objects: Iterable[S3Object],
    read: Callable[[str], bytes],
    region: str,
    layout: Layout,
    heads: Heads | None,
    urls: ObjectUrls | None,
) -> ScanResult:
    state = _sort(objects, layout)
    _attach_sidecars(state)
    items: dict[Dataset, list[SingleItem | MultiFileItem]] = {d: [] for d in Dataset}
    for c in state.singles.values():
        single = _single(state, c, read, layout)
        if single is not None:
            items[single.dataset].append(single)
    for group_id, group in state.groups.items():
        for multi in _assemble(group_id, group, read, layout, state, heads):
            items[multi.dataset].append(multi)
    manifests = {d: build_manifest(items[d], region=region, layout=layout, urls=urls) for d in Dataset}
    return ScanResult(manifests=manifests, skipped=state.skipped, errors=state.errors)


def _assemble(  # noqa: PLR0911 - each early return is one documented outcome
    group_id: str, group: _Group, read: Callable[[str], bytes], layout: Layout, state: _Sorted, heads: Heads | None
) -> list[MultiFileItem]:
    first = group.first
    assert first.dataset is not None  # set for everything inside a group folder
    assert first.data_type is not None
    folder = first.group_folder
    assert first.group_title is not None
    assert folder is not None

    def fail(message: str) -> list[MultiFileItem]:
        state.errors.append(ScanError(key=folder, group_id=group_id, message=f"{folder} left out: {message}"))
        return []

    if group.broken_members:
        keys = ", ".join(m.obj.key for m in group.broken_members)
        return fail(f"zero-byte files {keys} (interrupted upload?); re-upload them")
    if not group.members:
        return fail("the folder has a sidecar or ready marker but no files; upload the files or delete the folder")
    if layout.require_ready_marker and not group.ready:
        marker = folder + layout.group_ready_marker
        reason = f"{folder}: no {layout.group_ready_marker} marker yet; upload {marker} when the group is complete"
        state.skipped.extend(
            m._replace(role=Role.SKIPPED, skip=SkipReason.NOT_READY, reason=reason) for m in group.members
        )
        return []
    if group.member_sidecars:
        missing = [m.obj.key for m in group.members if m.obj.key not in group.member_sidecars]
        if missing:
            return fail(
                f"{len(missing)} of {len(group.members)} files have no sidecar ({', '.join(missing[:5])}); "
                f"upload {missing[0]}{layout.sidecar_suffix} and the rest, or remove the per-file sidecars"
            )
    member_sidecars: dict[str, Sidecar] = {}
    sidecar = None
    try:
        # Per-file sidecars describe one image (or DICOM file), never the whole group.
        member_type = DataType.DICOM_SERIES if first.data_type is DataType.DICOM_SERIES else DataType.IMAGE
        for key, sc in group.member_sidecars.items():
            member_sidecars[key] = _load(sc, read, layout)
            check_fits(member_sidecars[key], member_type, sc.obj.key)
        if group.sidecar is not None:
            sidecar = _load(group.sidecar, read, layout)
            check_fits(sidecar, first.data_type, group.sidecar.obj.key)
    except SidecarError as exc:
        return fail(str(exc))
    title = (sidecar.title if sidecar else None) or first.group_title
    if first.data_type is DataType.DICOM_SERIES and heads is not None:
        return _dicom_series(group, title, sidecar, member_sidecars, heads, state, fail)
    return [
        MultiFileItem(
            dataset=first.dataset,
            data_type=first.data_type,
            title=first.group_title,
            members=[m.obj for m in group.members],
            sidecar=sidecar,
            member_sidecars=member_sidecars,
        )
    ]


def _dicom_series(
    group: _Group,
    title: str,
    sidecar: Sidecar | None,
    member_sidecars: dict[str, Sidecar],
    heads: Heads,
    state: _Sorted,
    fail: Callable[[str], list[MultiFileItem]],
) -> list[MultiFileItem]:
    """A DICOM folder -> one item per series, by the members' headers (`dicom`); files that are not series
    members (unreadable headers, DICOMDIR by content, no SeriesInstanceUID) are skipped with the reason."""
    first = group.first
    assert first.dataset is not None
    headers: dict[str, DicomHeader | NotDicom] = {}

    def parse(key: str) -> None:
        size = next(m.obj.size for m in group.members if m.obj.key == key)
        try:
            headers[key] = read_header(key, size, heads.read)
        except NotDicom as error:
            headers[key] = error

    heads.map(parse, [m.obj.key for m in group.members])
    files: list[tuple[S3Object, DicomHeader]] = []
    for member in group.members:
        header, key = headers[member.obj.key], member.obj.key
        skip: tuple[SkipReason, str] | None = None
        if isinstance(header, NotDicom):
            skip = (SkipReason.NOT_DICOM, f"{key}: {header}, so not a series member")
        elif header.is_directory:
            skip = (SkipReason.DICOM_DIRECTORY, f"{key}: a DICOMDIR (the export's index of its files), not a member")
        elif header.series_uid is None:
            skip = (
                SkipReason.NO_SERIES,
                f"{key}: DICOM file without a SeriesInstanceUID (0020,000E), so it belongs to no series; "
                "re-export it with its series tags",
            )
        if skip is not None:
            state.skipped.append(member._replace(role=Role.SKIPPED, skip=skip[0], reason=skip[1]))
        else:
            assert not isinstance(header, NotDicom)
            files.append((member.obj, header))
    if not files:
        return fail("no DICOM files with a SeriesInstanceUID in it (see the skipped files); upload the series")
    # The folder's sidecar gives every series its clientMetadata; titles come from the series rule.
    shared = sidecar.model_copy(update={"title": None}) if sidecar is not None else None
    return [
        MultiFileItem(
            dataset=first.dataset,
            data_type=DataType.DICOM_SERIES,
            title=series.title,
            members=series.members,
            ordered=True,
            sidecar=shared,
            member_sidecars={o.key: member_sidecars[o.key] for o in series.members if o.key in member_sidecars},
        )
        for series in group_series(title, files)
    ]
