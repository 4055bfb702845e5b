"""The app offline: the Encord double seeded with the standard setup, and the template's stack on moto server
wired to it (the Encord parameters point at the seeded projects, datasets and folder; the key secret holds a key
the double knows), with the Docker-free invoker and the event-source pump. The demo and the integration tests of
registration and consensus scoring start it the same way.

    with offline_app(OfflineApp, seed_standard_setup, stack_name="bqa-x") as app:
        app.pump.fire_schedule("RouteFunction")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from benchmark_qa.store.scores import ScoresRepository
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository
from encord import EncordUserClient

from benchmark_qa_local.encord_double import DoubleState, EncordDouble, KeyPair
from benchmark_qa_local.encord_double.seed import StandardSetup
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack


def encord_parameters(domain: str, setup: StandardSetup) -> dict[str, str]:
    """Template parameters that point every function at the double (`domain`) and its standard setup."""
    return {
        "EncordDomain": domain,
        "EncordIntegrationId": setup.integration_hash,
        "BenchmarkFolderUuid": setup.folder_uuid,
        "ProductionFolderUuid": setup.folder_uuid,
        "BenchmarkDatasetHash": setup.benchmark_dataset_hash,
        "ProductionDatasetHash": setup.production_dataset_hash,
        "ProductionProjectHash": setup.production_project_hash,
        "BenchmarkProjectHash": setup.benchmark_project_hash,
    }


@dataclass
class OfflineApp:
    stack: LocalStack
    invoker: Invoker
    pump: EventSourcePump
    double: EncordDouble
    setup: StandardSetup
    key: KeyPair

    @property
    def bucket(self) -> str:
        return self.stack.physical_id("UploadBucket")

    @property
    def uploads(self) -> UploadsRepository:
        """The state table as the functions see it (boto3 reaches moto through the exported stack.env())."""
        return UploadsRepository(state_table(self.stack.physical_id("StateTable"), self.stack.region))

    @property
    def scores(self) -> ScoresRepository:
        return ScoresRepository(state_table(self.stack.physical_id("StateTable"), self.stack.region))

    def client(self) -> EncordUserClient:
        """The SDK as people use it (a ground-truth labeller, an annotator), signed with the stack's key."""
        return EncordUserClient.create_with_ssh_private_key(self.key.private_openssh, domain=self.double.url)


App = TypeVar("App", bound=OfflineApp)


@contextmanager
def offline_app(
    app_type: type[App],
    seed: Callable[[DoubleState], StandardSetup],
    *,
    stack_name: str,
    parameters: Mapping[str, str] | None = None,
    env_vars: Mapping[str, Any] | None = None,
    log_stream: IO[str] | None = None,
    endpoint_url: str | None = None,
    moto_process: bool = False,
) -> Iterator[App]:
    """Start the double, `seed` its state, and start the stack wired to it; both stop on exit. Yields an
    `app_type` (OfflineApp or a subclass with its caller's helpers).

    `parameters` adds to or overrides the Encord ones; `env_vars` and `log_stream` go to the invoker.
    moto keeps its state per process, so `stack_name` must differ from any other stack's in the process.
    The stack's endpoint and credentials are not exported: callers whose own boto3 calls must reach it set
    `app.stack.env()` in their environment. With `endpoint_url` the stack's resources are created in the moto
    server running there (and deleted on exit) instead of in a server of its own; `moto_process` runs that server
    in a process of its own (LocalStack)."""
    with EncordDouble(DoubleState()) as double:
        with double.locked() as state:
            setup = seed(state)
        key = double.register_key()
        stack = LocalStack(
            parameters={**encord_parameters(double.url, setup), **(parameters or {})},
            secret_values={"EncordKeySecret": key.private_openssh},
            stack_name=stack_name,
            endpoint_url=endpoint_url,
            create_resources=True,
            moto_process=moto_process,
        )
        with stack:
            invoker = Invoker(stack=stack, env_vars=env_vars, log_stream=log_stream)
            yield app_type(stack, invoker, EventSourcePump(stack, invoker), double, setup, key)
