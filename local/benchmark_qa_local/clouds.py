"""The four clouds of Encord's import spec, for `benchmark-qa manifest` and `benchmark-qa backfill`: where a
source location points (`parse_source`, pure: argument errors come before any network call) and a store that
lists it and reads first bytes with the cloud's own client library (`open_store`).

* `s3://BUCKET/PREFIX`: boto3; URLs `https://BUCKET.s3.REGION.amazonaws.com/KEY` (or the access point's);
* `gs://BUCKET/PREFIX`: google-cloud-storage; URLs `https://storage.cloud.google.com/BUCKET/KEY`;
* `az://ACCOUNT/CONTAINER/PREFIX` or `https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX`:
  azure-storage-blob; URLs `https://ACCOUNT.blob.core.windows.net/CONTAINER/KEY`;
* `obs://BUCKET/PREFIX`: boto3 on OBS's S3-compatible API; URLs `https://BUCKET.obs.REGION.otc.t-systems.com/KEY`.

Credentials and endpoints come from each cloud's usual environment: AWS's chain (and AWS_ENDPOINT_URL);
GOOGLE_APPLICATION_CREDENTIALS / gcloud's (STORAGE_EMULATOR_HOST for an emulator); AZURE_STORAGE_CONNECTION_STRING
or AZURE_STORAGE_KEY (a connection string's BlobEndpoint for Azurite); OBS_ACCESS_KEY_ID / OBS_SECRET_ACCESS_KEY
(OBS_ENDPOINT_URL for another endpoint). The cloud libraries are imported only for their own cloud, and never
ship in the Lambda layer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.urls import OBS_REGION, azure_url, gcs_url, object_url, obs_url

Cloud = Literal["s3", "gcs", "azure", "obs"]
DEFAULT_OBS_REGION = "eu-de"
_AZURE_HTTPS = re.compile(r"^https://(?P<account>[^./]+)\.blob\.core\.windows\.net/(?P<rest>.*)$")
_S3_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
FORMS = (
    "s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX], az://ACCOUNT/CONTAINER[/PREFIX], "
    "https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX] or obs://BUCKET[/PREFIX]"
)


class SourceError(ValueError):
    """A source location or option that cannot work; the message says what to write instead."""


@dataclass(frozen=True)
class Source:
    cloud: Cloud
    bucket: str  # the container, for Azure
    prefix: str
    account: str | None = None  # Azure only
    text: str = ""

    @property
    def first_segment(self) -> str:
        return self.prefix.split("/", 1)[0]


def parse_source(text: str) -> Source:
    scheme, _, rest = text.partition("://")
    account = None
    cloud: Cloud
    if scheme == "https" and (match := _AZURE_HTTPS.match(text)):
        cloud, account, rest = "azure", match["account"], match["rest"]
    elif scheme in ("s3", "gs", "obs", "az"):
        cloud = {"s3": "s3", "gs": "gcs", "obs": "obs", "az": "azure"}[scheme]  # type: ignore[assignment]
        if cloud == "azure":
            account, _, rest = rest.partition("/")
    else:
        raise SourceError(f"'{text}' is not a storage location; write it as {FORMS}")
    bucket, _, prefix = rest.partition("/")
    if not bucket or (cloud == "azure" and not account):
        what = "an account and a container" if cloud == "azure" else "a bucket"
        raise SourceError(f"'{text}' names no {what}; write it as {FORMS}")
    return Source(cloud=cloud, bucket=bucket, prefix=prefix, account=account, text=text)


def check_region(source: Source, region: str | None) -> None:
    """Argument checks of --region for the source's cloud (before any network call)."""
    if region is None:
        return
    if source.cloud == "s3" and not _S3_REGION.match(region):
        raise SourceError(f"--region '{region}' is not an AWS region name such as eu-west-2")
    if source.cloud == "obs" and not OBS_REGION.match(region):
        raise SourceError(f"--region '{region}' is not an Open Telekom Cloud region such as eu-de")
    if source.cloud in ("gcs", "azure"):
        raise SourceError(f"--region does not apply to {source.cloud} URLs; leave it out")


class Store(Protocol):
    """What manifest building needs from a cloud: a listing, first bytes, content types, URLs."""

    source: Source

    def list(self) -> Iterator[S3Object]: ...

    def read(self, key: str, limit: int) -> bytes:
        """The first `limit` bytes (fewer for a short file; b"" when it is gone)."""

    def content_type(self, key: str) -> str | None: ...

    def url(self, obj: S3Object) -> str: ...


class StoreError(RuntimeError):
    """A cloud refused or could not be reached; the message says what to check."""


def open_store(source: Source, region: str | None = None, mrap_arn: str | None = None) -> Store:
    if source.cloud == "s3":
        return S3Store(source, region, mrap_arn)
    if source.cloud == "obs":
        return ObsStore(source, region or DEFAULT_OBS_REGION)
    if source.cloud == "gcs":
        return GcsStore(source)
    return AzureStore(source)


# ---------------------------------------------------------------------- S3 and OBS (S3-compatible)


class S3Store:
    def __init__(self, source: Source, region: str | None, mrap_arn: str | None) -> None:
        import boto3

        self.source = source
        self._s3: Any = boto3.client("s3", config=_POOL)
        self._mrap = mrap_arn
        self.region = region or self._bucket_region()

    def _bucket_region(self) -> str:
        location = self._call(self._s3.get_bucket_location, Bucket=self.source.bucket).get("LocationConstraint")
        # S3 reports us-east-1 as no constraint, and the legacy EU constraint as "EU".
        return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location) or "us-east-1"

    def list(self) -> Iterator[S3Object]:
        paginator = self._s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.source.bucket, Prefix=self.source.prefix)
        for page in self._pages(pages):
            for entry in page.get("Contents", []):
                yield S3Object(
                    bucket=self.source.bucket,
                    key=entry["Key"],
                    size=entry.get("Size", 0),
                    etag=entry.get("ETag", "").strip('"') or None,
                )

    def _pages(self, pages: Any) -> Iterator[dict[str, Any]]:
        iterator = iter(pages)
        while True:
            try:
                page = self._call(next, iterator)
            except StopIteration:
                return
            yield page

    def read(self, key: str, limit: int) -> bytes:
        try:
            response = self._call(self._s3.get_object, Bucket=self.source.bucket, Key=key, Range=f"bytes=0-{limit - 1}")
        except StoreError as error:
            if isinstance(error.__cause__, Exception) and _code(error.__cause__) in ("NoSuchKey", "InvalidRange"):
                return b""
            raise
        return bytes(response["Body"].read())

    def content_type(self, key: str) -> str | None:
        try:
            return self._call(self._s3.head_object, Bucket=self.source.bucket, Key=key).get("ContentType")  # type: ignore[no-any-return]
        except StoreError as error:
            if isinstance(error.__cause__, Exception) and _code(error.__cause__) in ("404", "NoSuchKey"):
                return None
            raise

    def url(self, obj: S3Object) -> str:
        return object_url(obj.bucket, obj.key, self.region, self._mrap)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        bucket = self.source.bucket
        try:
            return fn(*args, **kwargs)
        except StopIteration:
            raise
        except NoCredentialsError as error:
            raise StoreError(self._no_credentials()) from error
        except ClientError as error:
            code = _code(error)
            if code in ("NoSuchBucket",) or (code == "404" and fn is not self._s3.head_object):
                raise StoreError(f"bucket '{bucket}' does not exist; check the name and the account") from error
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise StoreError(f"access to bucket '{bucket}' denied ({code}); check the credentials") from error
            raise StoreError(f"error on bucket '{bucket}': {error}") from error
        except BotoCoreError as error:
            raise StoreError(f"cannot reach the storage service: {error}") from error

    def _no_credentials(self) -> str:
        return "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"


class ObsStore(S3Store):
    """Open Telekom Cloud OBS through its S3-compatible API (boto3), with OBS's own credentials."""

    def __init__(self, source: Source, region: str) -> None:
        import boto3
        from botocore.config import Config

        key_id, secret = os.environ.get("OBS_ACCESS_KEY_ID"), os.environ.get("OBS_SECRET_ACCESS_KEY")
        if not key_id or not secret:
            raise StoreError(self._no_credentials())
        endpoint = os.environ.get("OBS_ENDPOINT_URL") or f"https://obs.{region}.otc.t-systems.com"
        self.source = source
        self.region = region
        self._mrap = None
        self._s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=_POOL.merge(
                Config(s3={"addressing_style": "path" if "OBS_ENDPOINT_URL" in os.environ else "virtual"})
            ),
        )

    def url(self, obj: S3Object) -> str:
        return obs_url(obj.bucket, obj.key, self.region)

    def _no_credentials(self) -> str:
        return "no OBS credentials; set OBS_ACCESS_KEY_ID and OBS_SECRET_ACCESS_KEY (an OTC access key)"


def _pool() -> Any:
    from botocore.config import Config

    return Config(max_pool_connections=64)  # concurrent ranged GETs (--workers) each hold a connection


_POOL = _pool()


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


# ---------------------------------------------------------------------- Google Cloud Storage


class GcsStore:
    def __init__(self, source: Source) -> None:
        from google.cloud import storage

        self.source = source
        try:
            if os.environ.get("STORAGE_EMULATOR_HOST"):
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(project="benchmark-qa", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
            else:
                client = storage.Client()
        except Exception as error:  # google.auth.exceptions.DefaultCredentialsError and friends
            raise StoreError(
                f"no Google Cloud credentials ({type(error).__name__}); run `gcloud auth application-default "
                "login` or set GOOGLE_APPLICATION_CREDENTIALS"
            ) from error
        self._bucket = client.bucket(source.bucket)
        self._client = client

    def list(self) -> Iterator[S3Object]:
        blobs = self._client.list_blobs(self.source.bucket, prefix=self.source.prefix or None)
        iterator = iter(blobs)
        while True:
            try:
                blob = self._call(next, iterator)
            except StopIteration:
                return
            yield S3Object(
                bucket=self.source.bucket,
                key=blob.name,
                size=int(blob.size or 0),
                etag=blob.etag,
                version_id=str(blob.generation) if blob.generation else None,
                content_type=blob.content_type,
            )

    def read(self, key: str, limit: int) -> bytes:
        from google.api_core.exceptions import NotFound, RequestRangeNotSatisfiable

        try:
            return bytes(self._bucket.blob(key).download_as_bytes(start=0, end=limit - 1))
        except (NotFound, RequestRangeNotSatisfiable):
            return b""

    def content_type(self, key: str) -> str | None:
        blob = self._bucket.get_blob(key)
        return None if blob is None else blob.content_type

    def url(self, obj: S3Object) -> str:
        return gcs_url(obj.bucket, obj.key)

    def _call(self, fn: Any, *args: Any) -> Any:
        from google.api_core import exceptions

        try:
            return fn(*args)
        except exceptions.NotFound as error:
            raise StoreError(f"bucket '{self.source.bucket}' does not exist; check the name") from error
        except exceptions.Forbidden as error:
            raise StoreError(f"access to bucket '{self.source.bucket}' denied; check the credentials") from error
        except exceptions.GoogleAPIError as error:
            raise StoreError(f"Google Cloud Storage error on '{self.source.bucket}': {error}") from error


# ---------------------------------------------------------------------- Azure Blob Storage


class AzureStore:
    def __init__(self, source: Source) -> None:
        from azure.storage.blob import BlobServiceClient

        self.source = source
        self.account = source.account or ""
        connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        key = os.environ.get("AZURE_STORAGE_KEY")
        if connection:
            service = BlobServiceClient.from_connection_string(connection)
        elif key:
            service = BlobServiceClient(
                f"https://{self.account}.blob.core.windows.net",
                credential={"account_name": self.account, "account_key": key},
            )
        else:
            raise StoreError("no Azure credentials; set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_KEY")
        if service.account_name != self.account:
            raise StoreError(
                f"the Azure credentials are for account '{service.account_name}', not '{self.account}'; "
                "use the account's own connection string"
            )
        self._container = service.get_container_client(source.bucket)

    def list(self) -> Iterator[S3Object]:
        iterator = iter(self._container.list_blobs(name_starts_with=self.source.prefix or None))
        while True:
            try:
                blob = self._call(next, iterator)
            except StopIteration:
                return
            settings = blob.content_settings
            yield S3Object(
                bucket=self.source.bucket,
                key=blob.name,
                size=int(blob.size or 0),
                etag=(blob.etag or "").strip('"') or None,
                content_type=settings.content_type if settings else None,
            )

    def read(self, key: str, limit: int) -> bytes:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        try:
            return bytes(self._container.download_blob(key, offset=0, length=limit).readall())
        except ResourceNotFoundError:
            return b""
        except HttpResponseError as error:
            if error.status_code == 416:  # an empty blob has no byte 0
                return b""
            raise

    def content_type(self, key: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._container.get_blob_client(key).get_blob_properties().content_settings.content_type
        except ResourceNotFoundError:
            return None

    def url(self, obj: S3Object) -> str:
        return azure_url(self.account, obj.bucket, obj.key)

    def _call(self, fn: Any, *args: Any) -> Any:
        from azure.core.exceptions import AzureError, ClientAuthenticationError, ResourceNotFoundError

        where = f"{self.account}/{self.source.bucket}"
        try:
            return fn(*args)
        except ResourceNotFoundError as error:
            raise StoreError(f"container '{where}' does not exist; check the account and container") from error
        except ClientAuthenticationError as error:
            raise StoreError(f"access to '{where}' denied; check the key or connection string") from error
        except AzureError as error:
            raise StoreError(f"Azure Blob Storage error on '{where}': {error}") from error
