"""A moto S3 server holding one bucket, with the environment the CLI reads pointed at it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import boto3
import pytest
from moto.server import ThreadedMotoServer


@contextmanager
def s3_bucket(name: str, files: Mapping[str, bytes], region: str = "us-east-1") -> Iterator[str]:
    """moto keeps its state per process, so one server and bucket serve a whole test module; yields the endpoint."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        s3 = boto3.client("s3")
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **location)  # type: ignore[arg-type]
        for key, body in files.items():
            s3.put_object(Bucket=name, Key=key, Body=body)
        try:
            yield endpoint
        finally:
            server.stop()
