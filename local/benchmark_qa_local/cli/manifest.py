"""`benchmark-qa manifest SOURCE`: list a bucket prefix on any cloud of Encord's import spec (S3, Google Cloud
Storage, Azure Blob, Open Telekom Cloud OBS) and write Encord import manifests (JSON or CSV), one per dataset
and split to the batch size, following the bucket layout in docs/layout.md. Files are typed by their content
(one ranged GET of their first bytes) and DICOM folders are split into series by their headers. Skipped objects
and errors go to stderr with the reason and what to do; on a terminal, so does progress.

Exit codes: 0 all good; 1 manifests written but some items were left out, or nothing importable was found;
2 usage error, an empty prefix, a missing bucket, missing credentials or another storage failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from benchmark_qa.ingest.items import Dataset, S3Object
from benchmark_qa.ingest.layout import Layout

from benchmark_qa_local.clouds import FORMS, Source, SourceError, Store, StoreError, check_region, parse_source

if TYPE_CHECKING:
    from benchmark_qa.ingest.manifest import ImportManifest
    from benchmark_qa.ingest.scan import ScanResult


class _Fatal(Exception):
    """A problem that stops the command: the message says what to do."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "manifest",
        help="write Encord JSON/CSV import manifests for a bucket prefix (S3, GCS, Azure Blob, OTC OBS)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", help=f"where to list: {FORMS}")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument(
        "--out",
        type=Path,
        help="output file (default: stdout); with several datasets, NAME.benchmark.EXT and NAME.production.EXT; "
        "with several parts, NAME[.DATASET].part-001.EXT, ...",
    )
    parser.add_argument(
        "--dataset",
        choices=("benchmark", "production", "all"),
        help="default: the dataset the prefix names (s3://B/benchmark/... -> benchmark), else all",
    )
    parser.add_argument(
        "--region",
        help="S3: region in the URLs (default: the bucket's); OBS: the OTC region (default eu-de)",
    )
    parser.add_argument("--allow-lossy-csv", action="store_true", help="drop what CSV cannot carry (warns)")
    parser.add_argument("--workers", type=int, default=16, help="concurrent ranged GETs of first bytes (default 16)")
    layout_flags(parser)
    parser.set_defaults(func=run)


def layout_flags(parser: argparse.ArgumentParser) -> None:
    """The layout options `manifest` and `backfill` share (defaults in docs/layout.md)."""
    layout = parser.add_argument_group("layout (defaults in docs/layout.md)")
    defaults = Layout()
    layout.add_argument("--benchmark-prefix", default=defaults.benchmark_prefix)
    layout.add_argument("--production-prefix", default=defaults.production_prefix)
    layout.add_argument("--manifest-prefix", default=defaults.manifest_prefix, help="never ingested")
    layout.add_argument("--mrap-arn", help="write Multi-Region Access Point URLs for this access point ARN (S3)")
    layout.add_argument("--max-sidecar-bytes", type=int, default=defaults.max_sidecar_bytes)
    layout.add_argument(
        "--require-ready-marker",
        action="store_true",
        help=f"leave out groups without a {defaults.group_ready_marker} marker",
    )
    layout.add_argument(
        "--no-skip-duplicate-urls",
        dest="skip_duplicate_urls",
        action="store_false",
        help="set skip_duplicate_urls to false in the JSON",
    )
    layout.add_argument(
        "--upsert-metadata", action="store_true", help="set upsert_metadata (updates metadata of known URLs)"
    )
    layout.add_argument(
        "--batch-size",
        type=int,
        default=defaults.manifest_batch_size,
        help=f"entries per manifest (default {defaults.manifest_batch_size}; Encord's limit 500,000)",
    )
    layout.add_argument(
        "--video-batch-size",
        type=int,
        default=defaults.manifest_video_batch_size,
        help=f"videos per manifest (default {defaults.manifest_video_batch_size})",
    )
    layout.add_argument(
        "--trust-extensions",
        action="store_true",
        help="read first bytes only of files the extension cannot type (and DICOM folders); faster, less careful",
    )
    layout.add_argument(
        "--text-extensions",
        help=f"comma-separated extensions imported as text (default {','.join(defaults.text_extensions)}); "
        "e.g. .txt,.md,.json to import those data files as text",
    )


def layout_from(args: argparse.Namespace) -> Layout:
    extra = {}
    if args.text_extensions is not None:
        extra["text_extensions"] = tuple(e.strip() for e in args.text_extensions.split(",") if e.strip())
    return Layout(
        benchmark_prefix=args.benchmark_prefix,
        production_prefix=args.production_prefix,
        manifest_prefix=args.manifest_prefix,
        multi_region_access_point_arn=args.mrap_arn,
        max_sidecar_bytes=args.max_sidecar_bytes,
        require_ready_marker=args.require_ready_marker,
        skip_duplicate_urls=args.skip_duplicate_urls,
        upsert_metadata=args.upsert_metadata,
        manifest_batch_size=args.batch_size,
        manifest_video_batch_size=args.video_batch_size,
        check_content=not args.trust_extensions,
        **extra,
    )


def checked_source(args: argparse.Namespace, layout: Layout) -> Source:
    """The source, with every argument checked that can be before a network call."""
    source = parse_source(args.source)
    check_region(source, args.region)
    if args.mrap_arn and source.cloud != "s3":
        raise SourceError("--mrap-arn applies to S3 sources only")
    if args.workers < 1:
        raise SourceError("--workers must be at least 1")
    if args.mrap_arn:  # a malformed ARN fails here, not after the listing
        from benchmark_qa.ingest.urls import object_url

        object_url(source.bucket, "k", "us-east-1", args.mrap_arn)
    return source


def _datasets(args: argparse.Namespace, source: Source, layout: Layout) -> list[Dataset]:
    chosen = args.dataset
    if chosen is None:  # the one dataset the prefix names, else both
        named = {layout.benchmark_prefix: "benchmark", layout.production_prefix: "production"}
        chosen = named.get(source.first_segment, "all")
    return list(Dataset) if chosen == "all" else [Dataset(chosen)]


class Progress:
    """Count, rate and what is being read, on one stderr line; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO, what: str, every: float = 0.5) -> None:
        self._stream = stream
        self._on = stream.isatty()
        self._what = what
        self._every = every
        self._started = self._shown = time.monotonic()
        self.count = 0

    def track(self, objects: Iterable[S3Object]) -> Iterator[S3Object]:
        for obj in objects:
            self.update(self.count + 1, f"at {obj.key[:80]}")
            yield obj

    def update(self, count: int, detail: str) -> None:
        self.count = count
        now = time.monotonic()
        if self._on and now - self._shown >= self._every:
            self._shown = now
            rate = self.count / max(now - self._started, 1e-9)
            self._stream.write(f"\r\x1b[K{self._what}: {self.count:,} objects ({rate:,.0f}/s), {detail}")
            self._stream.flush()

    def done(self, note: str = "") -> None:
        if self._on:
            seconds = time.monotonic() - self._started
            self._stream.write(f"\r\x1b[K{self._what}: {self.count:,} objects in {seconds:.1f} s{note}\n")
            self._stream.flush()


def list_objects(store: Store, layout: Layout, workers: int, progress: Progress) -> list[S3Object]:
    """The whole listing, typed by content where the layout says so (see `Heads.detect`)."""
    from benchmark_qa.ingest.heads import Heads

    listed = list(progress.track(store.list()))
    progress.done()
    if not listed:
        raise _Fatal(
            f"{store.source.text} holds no objects (0 listed under prefix '{store.source.prefix}'); "
            "check the prefix: keys are case-sensitive"
        )
    heads = Heads(store.read, workers)
    return heads.detect(listed, layout, store.content_type)


def _render(manifest: ImportManifest, fmt: str, allow_loss: bool, dataset: Dataset) -> str:
    if fmt == "json":
        return manifest.to_json_bytes(indent=True).decode() + "\n"
    losses = manifest.csv_losses()
    if losses and not allow_loss:
        from benchmark_qa.ingest.csv_form import CsvLossError

        raise _Fatal(f"{dataset.value}: {CsvLossError(losses)} (--allow-lossy-csv)")
    for loss in losses:
        print(f"warning: {dataset.value} CSV drops {loss}", file=sys.stderr)
    return manifest.to_csv(allow_loss=True)


def _out_path(out: Path, dataset: Dataset, per_dataset: bool, part: int, parts: int) -> Path:
    labels = ([dataset.value] if per_dataset else []) + ([f"part-{part:03d}"] if parts > 1 else [])
    if not labels:
        return out
    stem, suffix = (out.stem, out.suffix) if out.suffix else (out.name, "")
    return out.with_name(".".join([stem, *labels]) + suffix)


def _report(result: ScanResult) -> None:
    for skipped in result.skipped:
        print(f"skipped {skipped.reason}", file=sys.stderr)
    for error in result.errors:
        print(f"error: {error.message}", file=sys.stderr)


def _scan(args: argparse.Namespace, layout: Layout, source: Source) -> ScanResult:
    from benchmark_qa.ingest.heads import Heads
    from benchmark_qa.ingest.scan import scan

    from benchmark_qa_local.clouds import open_store

    store = open_store(source, args.region, args.mrap_arn)
    objects = list_objects(store, layout, args.workers, Progress(sys.stderr, f"listing {source.text}"))
    # One byte over the limit is enough to refuse an oversized sidecar; a key deleted since the listing reads empty.
    read = lambda key: store.read(key, layout.max_sidecar_bytes + 1)  # noqa: E731
    region = getattr(store, "region", "us-east-1")  # S3 URLs only; the other clouds build their own
    return scan(objects, read, region=region, layout=layout, heads=Heads(store.read, args.workers), urls=store.url)


def run(args: argparse.Namespace) -> int:
    try:
        layout = layout_from(args)
        source = checked_source(args, layout)
        datasets = _datasets(args, source, layout)
        per_dataset = len(datasets) > 1
        if args.out is None and per_dataset and args.format == "csv":
            raise _Fatal("CSV for several datasets needs --out FILE or --dataset benchmark|production")
        result = _scan(args, layout, source)
        _report(result)
        parts = {d: result.parts(d, layout) for d in datasets}
        if sum(m.entry_count for m in result.manifests.values()) == 0:
            print(
                f"benchmark-qa manifest: nothing to import under {source.text}: every listed object was skipped "
                "or left out (see above)",
                file=sys.stderr,
            )
            return 1
        rendered = {d: [_render(m, args.format, args.allow_lossy_csv, d) for m in parts[d]] for d in datasets}
        if args.out is not None:
            for dataset, texts in rendered.items():
                for index, text in enumerate(texts, start=1):
                    path = _out_path(args.out, dataset, per_dataset, index, len(texts))
                    path.write_text(text, encoding="utf-8", newline="")
                    count = parts[dataset][index - 1].entry_count
                    print(f"wrote {path} ({count} entries, {dataset.value})", file=sys.stderr)
        elif any(len(texts) > 1 for texts in rendered.values()):
            counts = ", ".join(f"{d.value}: {len(t)}" for d, t in rendered.items())
            raise _Fatal(f"the manifests split into several parts ({counts}); pass --out FILE to write one per part")
        elif not per_dataset:
            sys.stdout.write(rendered[datasets[0]][0])
        else:
            # Several datasets on stdout: one JSON object keyed by dataset, each value an import manifest.
            import orjson

            combined = {d.value: result.manifests[d].to_dict() for d in datasets}
            sys.stdout.write(orjson.dumps(combined, option=orjson.OPT_INDENT_2).decode() + "\n")
    except (_Fatal, StoreError, ValueError) as exc:  # ValueError: bad flag values caught by the models
        print(f"benchmark-qa manifest: {exc}", file=sys.stderr)
        return 2
    return 1 if result.errors else 0
