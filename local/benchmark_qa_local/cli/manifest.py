"""`benchmark-qa manifest s3://BUCKET/PREFIX`: list a bucket prefix and write Encord import manifests (JSON or
CSV), one per dataset, following the bucket layout in docs/layout.md. Skipped objects and errors go to
stderr with the reason and what to do.

Exit codes: 0 all good; 1 manifests written but some items were left out (see the errors); 2 usage error,
missing bucket, missing credentials or another S3 failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark_qa.ingest.items import Dataset, S3Object, with_content_type
from benchmark_qa.ingest.layout import Layout

if TYPE_CHECKING:
    from benchmark_qa.ingest.manifest import ImportManifest
    from benchmark_qa.ingest.scan import ScanResult
    from mypy_boto3_s3 import S3Client


class _Fatal(Exception):
    """A problem that stops the command: the message says what to do."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "manifest",
        help="write Encord JSON/CSV import manifests for an S3 prefix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="s3://BUCKET/PREFIX", help="bucket and optional key prefix to list")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument(
        "--out",
        type=Path,
        help="output file (default: stdout); with --dataset all, one file per dataset: "
        "NAME.benchmark.EXT and NAME.production.EXT",
    )
    parser.add_argument("--dataset", choices=("benchmark", "production", "all"), default="all")
    parser.add_argument(
        "--region",
        help="region in the object URLs (default: the bucket's region from S3, else the session's)",
    )
    parser.add_argument("--allow-lossy-csv", action="store_true", help="drop what CSV cannot carry (warns)")
    layout = parser.add_argument_group("layout (defaults in docs/layout.md)")
    defaults = Layout()
    layout.add_argument("--benchmark-prefix", default=defaults.benchmark_prefix)
    layout.add_argument("--production-prefix", default=defaults.production_prefix)
    layout.add_argument("--manifest-prefix", default=defaults.manifest_prefix, help="never ingested")
    layout.add_argument("--mrap-arn", help="write Multi-Region Access Point URLs for this access point ARN")
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
    parser.set_defaults(func=run)


def _layout(args: argparse.Namespace) -> Layout:
    return Layout(
        benchmark_prefix=args.benchmark_prefix,
        production_prefix=args.production_prefix,
        manifest_prefix=args.manifest_prefix,
        multi_region_access_point_arn=args.mrap_arn,
        max_sidecar_bytes=args.max_sidecar_bytes,
        require_ready_marker=args.require_ready_marker,
        skip_duplicate_urls=args.skip_duplicate_urls,
        upsert_metadata=args.upsert_metadata,
    )


def _split_source(source: str) -> tuple[str, str]:
    if not source.startswith("s3://") or not source[5:].split("/", 1)[0]:
        raise _Fatal(f"'{source}' is not an S3 location; write it as s3://BUCKET or s3://BUCKET/PREFIX")
    bucket, _, prefix = source[5:].partition("/")
    return bucket, prefix


def _list(s3: S3Client, bucket: str, prefix: str) -> Iterator[S3Object]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            yield S3Object(
                bucket=bucket,
                key=entry["Key"],
                size=entry.get("Size", 0),
                etag=entry.get("ETag", "").strip('"') or None,
            )


def _region(s3: S3Client, bucket: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    # S3 reports us-east-1 as no constraint, and the legacy EU constraint as "EU".
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location) or "us-east-1"


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


def _out_path(out: Path, dataset: Dataset, per_dataset: bool) -> Path:
    if not per_dataset:
        return out
    return (
        out.with_name(f"{out.stem}.{dataset.value}{out.suffix}")
        if out.suffix
        else out.with_name(f"{out.name}.{dataset.value}")
    )


def _report(result: ScanResult) -> None:
    for skipped in result.skipped:
        print(f"skipped {skipped.reason}", file=sys.stderr)
    for error in result.errors:
        print(f"error: {error.message}", file=sys.stderr)


def _scan(args: argparse.Namespace, layout: Layout) -> ScanResult:
    import boto3
    from benchmark_qa.bucket import S3Bucket
    from benchmark_qa.ingest.scan import scan
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    bucket, prefix = _split_source(args.source)

    try:
        s3 = boto3.client("s3")
        region = _region(s3, bucket, args.region)
        store = S3Bucket(bucket)
        objects = [with_content_type(o, layout, store.content_type) for o in _list(s3, bucket, prefix)]
        # One byte over the limit is enough to refuse an oversized sidecar; a key deleted since the listing reads empty.
        read = lambda key: store.read(key, limit=layout.max_sidecar_bytes) or b""  # noqa: E731
        return scan(objects, read, region=region, layout=layout)
    except NoCredentialsError as exc:
        raise _Fatal("no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404"):
            raise _Fatal(f"bucket '{bucket}' does not exist; check the name and the account") from exc
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise _Fatal(f"access to bucket '{bucket}' denied ({code}); check the credentials and policy") from exc
        raise _Fatal(f"S3 error on bucket '{bucket}': {exc}") from exc
    except BotoCoreError as exc:
        raise _Fatal(f"cannot reach S3: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    try:
        layout = _layout(args)
        result = _scan(args, layout)
        _report(result)
        datasets = list(Dataset) if args.dataset == "all" else [Dataset(args.dataset)]
        per_dataset = len(datasets) > 1
        rendered = {d: _render(result.manifests[d], args.format, args.allow_lossy_csv, d) for d in datasets}
        if args.out is not None:
            for dataset, text in rendered.items():
                path = _out_path(args.out, dataset, per_dataset)
                path.write_text(text, encoding="utf-8", newline="")
                count = result.manifests[dataset].entry_count
                print(f"wrote {path} ({count} entries, {dataset.value})", file=sys.stderr)
        elif not per_dataset:
            sys.stdout.write(rendered[datasets[0]])
        elif args.format == "json":
            # Several datasets on stdout: one JSON object keyed by dataset, each value an import manifest.
            import orjson

            combined = {d.value: result.manifests[d].to_dict() for d in datasets}
            sys.stdout.write(orjson.dumps(combined, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            raise _Fatal("CSV for several datasets needs --out FILE or --dataset benchmark|production")
    except (_Fatal, ValueError) as exc:  # ValueError: a bad flag value (region, ARN, layout) caught by the models
        print(f"benchmark-qa manifest: {exc}", file=sys.stderr)
        return 2
    return 1 if result.errors else 0
