"""Object URLs: the documented virtual-hosted and MRAP forms, and an exact round trip to the key."""

from __future__ import annotations

import pytest
from benchmark_qa.ingest.manifest import key_from_object_url, object_url
from hypothesis import given
from hypothesis import strategies as st

MRAP = "arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap"

# S3 keys are 1..1024 UTF-8 bytes; lone surrogates cannot be encoded, so they are no key.
keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=200)


def test_docs_form_for_eu_west_2() -> None:
    url = object_url("encord-integration", "images/Image1.png", "eu-west-2")
    assert url == "https://encord-integration.s3.eu-west-2.amazonaws.com/images/Image1.png"


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "b.s3.us-east-1.amazonaws.com"),
        ("eu-west-2", "b.s3.eu-west-2.amazonaws.com"),
        ("us-gov-west-1", "b.s3.us-gov-west-1.amazonaws.com"),
        ("cn-north-1", "b.s3.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_region_forms(region: str, host: str) -> None:
    assert object_url("b", "k.mp4", region) == f"https://{host}/k.mp4"
    assert key_from_object_url(f"https://{host}/k.mp4") == ("b", "k.mp4")


def test_global_and_legacy_hosts_are_read() -> None:
    assert key_from_object_url("https://b.s3.amazonaws.com/a%20b.jpg") == ("b", "a b.jpg")
    assert key_from_object_url("https://b.s3-eu-west-1.amazonaws.com/x/y") == ("b", "x/y")


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("a b.jpg", "a%20b.jpg"),
        ("1+(32).jpg", "1%2B%2832%29.jpg"),
        ("100%.png", "100%25.png"),
        ("q?x#y.mp4", "q%3Fx%23y.mp4"),
        ("dir/sub dir/ünï.png", "dir/sub%20dir/%C3%BCn%C3%AF.png"),
        ("a//b/~_.-", "a//b/~_.-"),
    ],
)
def test_percent_encoding_keeps_slashes_and_escapes_the_rest(key: str, encoded: str) -> None:
    url = object_url("b", key, "eu-west-2")
    assert url == f"https://b.s3.eu-west-2.amazonaws.com/{encoded}"
    assert key_from_object_url(url) == ("b", key)


def test_docs_mrap_form() -> None:
    url = object_url("ignored-bucket", "Videos/2022/video_1.mp4", "eu-west-2", MRAP)
    assert url == (
        "https://arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap.s3-accesspoint.amazonaws.com/"
        "Videos/2022/video_1.mp4"
    )
    assert key_from_object_url(url) == (MRAP, "Videos/2022/video_1.mp4")


@given(key=keys)
def test_round_trip_for_any_unicode_key(key: str) -> None:
    url = object_url("my-bucket.data", key, "ap-southeast-2")
    assert not any(c.isspace() for c in url)
    assert key_from_object_url(url) == ("my-bucket.data", key)


@given(key=keys)
def test_mrap_round_trip_for_any_unicode_key(key: str) -> None:
    url = object_url("b", key, "us-east-1", MRAP)
    assert key_from_object_url(url) == (MRAP, key)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("b", "", "eu-west-2"), "non-empty key"),
        (("b", "k", "Europe"), "not an AWS region"),
        (("b", "k", "eu-west-2", "arn:aws:s3:::bucket"), "Multi-Region Access Point ARN"),
        (("b", "\ud800", "eu-west-2"), "surrogates not allowed"),
    ],
)
def test_bad_arguments(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        object_url(*args)


@pytest.mark.parametrize(
    "url",
    [
        "https://storage.googleapis.com/b/k",
        "https://b.s3.eu-west-2.amazonaws.com/k?versionId=1",
        "https://b.s3.eu-west-2.amazonaws.com/",
        "https://arn:aws:s3::1:accesspoint/x.mrap/k",
    ],
)
def test_foreign_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="'https://"):
        key_from_object_url(url)


def test_the_other_clouds_use_the_forms_of_the_spec_examples_and_round_trip() -> None:
    from benchmark_qa.ingest.urls import azure_url, gcs_url, obs_url

    key = "images/1 (32)+ü.jpg"
    cases = {
        gcs_url("encord-image-bucket", key): ("encord-image-bucket", "https://storage.cloud.google.com/"),
        azure_url("myaccount", "encordcontainer", key): (
            "myaccount/encordcontainer",
            "https://myaccount.blob.core.windows.net/encordcontainer/",
        ),
        obs_url("encord-bucket", key, "eu-de"): ("encord-bucket", "https://encord-bucket.obs.eu-de.otc.t-systems.com/"),
    }
    for url, (bucket, start) in cases.items():
        assert url.startswith(start)
        assert key_from_object_url(url) == (bucket, key)
    with pytest.raises(ValueError, match="Open Telekom Cloud region"):
        obs_url("b", "k", "us-east-1")
