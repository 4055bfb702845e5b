"""S3 object URLs in the forms Encord's import spec documents, and their inverse.

* Virtual-hosted, region-aware: `https://BUCKET.s3.REGION.amazonaws.com/KEY` (the docs' form, e.g.
  `https://encord-integration.s3.eu-west-2.amazonaws.com/images/Image1.png`). us-east-1 uses the same
  regional form (AWS serves it), so every region follows one rule; China regions end in `.amazonaws.com.cn`.
* Multi-Region Access Point: the ARN followed by `.s3-accesspoint.amazonaws.com/KEY`, exactly as the docs'
  example `https://arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap.s3-accesspoint.amazonaws.com/...`.

The other clouds of the spec, in the form of its examples (the CLI lists them; the pipeline stays on S3):
* Google Cloud Storage: `https://storage.cloud.google.com/BUCKET/KEY`;
* Azure Blob Storage: `https://ACCOUNT.blob.core.windows.net/CONTAINER/KEY`;
* Open Telekom Cloud OBS: `https://BUCKET.obs.REGION.otc.t-systems.com/KEY` (e.g. region eu-de).

Keys are percent-encoded as UTF-8 with only `/` and RFC 3986 unreserved characters left bare, so spaces,
`+`, `%`, `#`, `?` and any unicode round-trip to the exact key (and the URL never contains whitespace,
which the CSV form forbids).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_MRAP_ARN = re.compile(r"^arn:[a-z-]+:s3::\d+:accesspoint/[A-Za-z0-9.-]+$")
_MRAP_HOST_SUFFIX = ".s3-accesspoint.amazonaws.com/"
# bucket.s3.amazonaws.com | bucket.s3.REGION.amazonaws.com[.cn] | bucket.s3-REGION.amazonaws.com (legacy)
_VIRTUAL_HOST = re.compile(
    r"^https://(?P<bucket>[a-z0-9.-]+?)\.s3(?:[.-](?P<region>[a-z0-9-]+))?"
    r"\.amazonaws\.com(?:\.cn)?/(?P<key>.*)$",
    re.DOTALL,
)


def _encode_key(key: str) -> str:
    # errors="strict": a lone surrogate is not a valid S3 key, so fail rather than guess.
    return quote(key, safe="/", encoding="utf-8", errors="strict")


def object_url(bucket: str, key: str, region: str, mrap_arn: str | None = None) -> str:
    if not key:
        raise ValueError("an S3 object URL needs a non-empty key")
    if mrap_arn is not None:
        if not _MRAP_ARN.match(mrap_arn):
            raise ValueError(
                f"'{mrap_arn}' is not a Multi-Region Access Point ARN "
                "(expected arn:aws:s3::ACCOUNT:accesspoint/ALIAS.mrap)"
            )
        return f"https://{mrap_arn}{_MRAP_HOST_SUFFIX}{_encode_key(key)}"
    if not _REGION.match(region):
        raise ValueError(f"'{region}' is not an AWS region name such as eu-west-2")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{domain}/{_encode_key(key)}"


_GCS_HOST = "https://storage.cloud.google.com/"
_AZURE = re.compile(
    r"^https://(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net/(?P<container>[a-z0-9-]+)/(?P<key>.*)$"
)
_OBS = re.compile(r"^https://(?P<bucket>[a-z0-9.-]+?)\.obs\.(?P<region>[a-z0-9-]+)\.otc\.t-systems\.com/(?P<key>.*)$")
OBS_REGION = re.compile(r"^[a-z]{2}-[a-z]{2}\d?$")  # eu-de, eu-nl, eu-ch2


def gcs_url(bucket: str, key: str) -> str:
    return f"{_GCS_HOST}{bucket}/{_encode_key(_nonempty(key))}"


def azure_url(account: str, container: str, key: str) -> str:
    return f"https://{account}.blob.core.windows.net/{container}/{_encode_key(_nonempty(key))}"


def obs_url(bucket: str, key: str, region: str) -> str:
    if not OBS_REGION.match(region):
        raise ValueError(f"'{region}' is not an Open Telekom Cloud region name such as eu-de")
    return f"https://{bucket}.obs.{region}.otc.t-systems.com/{_encode_key(_nonempty(key))}"


def _nonempty(key: str) -> str:
    if not key:
        raise ValueError("an object URL needs a non-empty key")
    return key


def key_from_object_url(url: str) -> tuple[str, str]:
    """(bucket, key) of an object URL; for a Multi-Region Access Point URL, (ARN, key); for Azure,
    ("ACCOUNT/CONTAINER", key).

    Accepts the forms this module writes plus S3's global and legacy dash-region virtual-hosted forms, so
    Encord's per-file errors map back to keys whichever form the manifest used.
    """
    if url.startswith(_GCS_HOST):
        bucket, _, encoded = url[len(_GCS_HOST) :].partition("/")
        return bucket, _decode_key(encoded, url)
    for pattern, bucket_of in ((_AZURE, lambda m: f"{m['account']}/{m['container']}"), (_OBS, lambda m: m["bucket"])):
        found = pattern.match(url)
        if found is not None:
            return bucket_of(found), _decode_key(found["key"], url)
    if url.startswith("https://arn:"):
        split = url.find(_MRAP_HOST_SUFFIX)
        if split < 0:
            raise ValueError(f"'{url}' looks like a Multi-Region Access Point URL but lacks the host part")
        arn, encoded = url[len("https://") : split], url[split + len(_MRAP_HOST_SUFFIX) :]
        return arn, _decode_key(encoded, url)
    match = _VIRTUAL_HOST.match(url)
    if match is None:
        raise ValueError(f"'{url}' is not a virtual-hosted S3 object URL (https://BUCKET.s3.REGION.amazonaws.com/KEY)")
    return match["bucket"], _decode_key(match["key"], url)


def _decode_key(encoded: str, url: str) -> str:
    # A bare '?' or '#' would be a query or fragment, never part of a key we encoded.
    if "?" in encoded or "#" in encoded or not encoded:
        raise ValueError(f"'{url}' has a query, fragment or empty key; object keys are percent-encoded")
    return unquote(encoded, encoding="utf-8", errors="strict")
