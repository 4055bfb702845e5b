"""LocalStack: moto in server mode on 127.0.0.1 with the resources of template.yaml, so functions run by the
invoker (and any client process) talk to the same S3 buckets, queues, tables and secrets the template
declares. Built from the template, never from a list of names, so tests and infrastructure cannot drift.

    with LocalStack() as stack:
        stack.boto3_client("s3").put_object(Bucket=stack.physical_id("UploadBucket"), Key="benchmark/a.jpg", Body=b"")
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from benchmark_qa_local.deployment import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    DUMMY_CREDENTIALS,
    LocalDeployment,
    PhysicalResource,
)
from benchmark_qa_local.provisioning import Provisioner, ProvisioningReport, discover_secrets
from benchmark_qa_local.template import SamTemplate

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = Path("template.yaml")


def find_template(start: Path | None = None) -> Path:
    """template.yaml in the working directory or the nearest parent, so commands work from sub-folders."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_TEMPLATE).is_file():
            return folder / DEFAULT_TEMPLATE
    raise FileNotFoundError(f"no {DEFAULT_TEMPLATE} in {here} or its parents; pass --template")


class LocalStack:
    """moto server + the template's resources. `start()` / `stop()`, or use it as a context manager.

    moto keeps its state per process (all servers in one process share it), so resources are named with
    `stack_name` and deleted on `stop()`; two stacks in one process need different stack names."""

    def __init__(
        self,
        template: str | Path | SamTemplate | None = None,
        *,
        port: int = 0,
        parameters: Mapping[str, str] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        secret_values: Mapping[str, str] | None = None,
        keep_test_events: bool = False,
        endpoint_url: str | None = None,
        create_resources: bool | None = None,
        moto_process: bool = False,
    ) -> None:
        """`secret_values` seeds secrets by logical id (e.g. the Encord double's key); `keep_test_events` keeps
        the s3:TestEvent S3 sends when notifications are configured; `endpoint_url` attaches to a stack that
        is already running there (nothing is created or deleted), unless `create_resources` is true: then this
        stack's resources are created in that moto server and deleted on stop (`benchmark-qa demo` does this
        when AWS_ENDPOINT_URL names a running `benchmark-qa stack`); `moto_process` runs the moto server in a
        process of its own (moto_process.py: a second core for long runs) instead of a thread of this one."""
        self.template = template if isinstance(template, SamTemplate) else SamTemplate.load(template or find_template())
        self._port = port
        self._parameters = dict(parameters or {})
        self._stack_name = stack_name
        self._account_id = account_id
        self._region = region
        self._secret_values = dict(secret_values or {})
        self._keep_test_events = keep_test_events
        self._attached_endpoint = endpoint_url
        self._create = create_resources if create_resources is not None else endpoint_url is None
        self._moto_process = moto_process
        self._server: Any = None
        self._provisioner: Provisioner | None = None
        self._deployment: LocalDeployment | None = None
        self._clients: dict[str, Any] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalStack:
        if self._deployment is not None:
            return self
        try:
            self._deploy()
        except BaseException:
            self.stop()
            raise
        return self

    def _deploy(self) -> None:
        endpoint = self._attached_endpoint or self._start_server()
        self._deployment = LocalDeployment(
            self.template,
            endpoint_url=endpoint,
            stack_name=self._stack_name,
            account_id=self._account_id,
            region=self._region,
            parameters=self._parameters,
        )
        if not self._create:
            discover_secrets(self._deployment, self.boto3_client, self.template.of_type("AWS::SecretsManager::Secret"))
            return
        self._provisioner = Provisioner(
            self._deployment,
            self.boto3_client,
            secret_values=self._secret_values,
            keep_test_events=self._keep_test_events,
        )
        self._provisioner.create_all()

    def _start_server(self) -> str:
        from benchmark_qa_local.moto_process import MotoProcess, serve

        if self._port:
            _port_is_free(self._port)  # moto binds in its own thread and would wait forever on a busy port
        if self._moto_process:
            self._server = MotoProcess(self._port)
            return str(self._server.start())
        self._server, endpoint = serve(self._port)
        return endpoint

    def stop(self) -> None:
        if self._provisioner is not None:
            self._provisioner.delete_all()
            self._provisioner = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._deployment = None
        self._clients.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ what callers use

    @property
    def deployment(self) -> LocalDeployment:
        if self._deployment is None:
            raise RuntimeError("the local stack is not started: call start() or use it in a with-block")
        return self._deployment

    @property
    def endpoint_url(self) -> str:
        endpoint = self.deployment.endpoint_url
        assert endpoint is not None  # a started stack always has one
        return endpoint

    @property
    def moto_pid(self) -> int | None:
        """The moto server's process id when it runs in a process of its own (`moto_process`), else None."""
        return self._server.pid if self._moto_process and self._server is not None else None

    @property
    def region(self) -> str:
        return self._region

    @property
    def report(self) -> ProvisioningReport:
        """What was created, skipped (with why) and unsupported; empty when attached to a running stack."""
        return self._provisioner.report if self._provisioner else ProvisioningReport()

    def resource(self, logical_id: str) -> PhysicalResource:
        return self.deployment.resource(logical_id)

    def physical_id(self, logical_id: str) -> str:
        """What `!Ref` returns for the resource: a bucket or table name, a queue URL, a secret ARN."""
        return self.deployment.resource(logical_id).ref

    @property
    def outputs(self) -> dict[str, str]:
        return self.deployment.outputs()

    def function_environment(self, logical_id: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        return self.deployment.function_environment(logical_id, overrides)

    def env(self) -> dict[str, str]:
        """Variables for a client process (a CLI, a subprocess): endpoint, region, dummy credentials."""
        return self.deployment.client_environment()

    def boto3_client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint_url,
                region_name=self._region,
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            )
        return self._clients[service]

    def describe(self) -> str:
        """Human summary: endpoint, then each resource's logical id, type and physical id."""
        lines = [f"endpoint  {self.endpoint_url}", f"region    {self._region}"]
        for logical_id, physical in self.report.created.items():
            lines.append(f"  {logical_id:<28} {physical.type:<30} {physical.ref}")
        for logical_id, reason in self.report.skipped.items():
            lines.append(f"  {logical_id:<28} skipped: {reason}")
        for logical_id, resource_type in self.report.unsupported.items():
            lines.append(f"  {logical_id:<28} NOT EMULATED ({resource_type})")
        return "\n".join(lines)


def _port_is_free(port: int) -> None:
    """Raise OSError(EADDRINUSE) when something already listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", port))  # raises OSError with errno EADDRINUSE


def endpoint_from_environment() -> str | None:
    """A stack already running elsewhere (e.g. `benchmark-qa stack` in another terminal)."""
    return os.environ.get("AWS_ENDPOINT_URL") or None
