"""One Logger, Metrics and Tracer for every function (Powertools' own advice: never create more).

The Tracer is built on a function's first invocation, not when its handler is imported: Powertools' Tracer
imports the X-Ray SDK (and through it botocore's session and docs machinery) and patches boto3 and requests,
the largest single cost of importing a handler. Each container pays it once, with its first event, and
ManifestFunction's import stays small. Traces are the same: one segment per invocation, boto3 and requests
calls as subsegments (they are patched before the handler runs)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "benchmark-qa"
NAMESPACE = "BenchmarkQA"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

F = TypeVar("F", bound=Callable[..., Any])


class DeferredTracer:
    """Powertools' Tracer, created when first needed; `capture_lambda_handler` takes the same arguments."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self._service)
        return self._tracer

    def capture_lambda_handler(
        self, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[F], F]:
        def decorate(function: F) -> F:
            traced: Callable[..., Any] | None = None

            @functools.wraps(function)
            def handler(event: Any, context: Any) -> Any:
                nonlocal traced
                if traced is None:
                    traced = self.tracer.capture_lambda_handler(
                        function, capture_response=capture_response, capture_error=capture_error
                    )
                return traced(event, context)

            return cast(F, handler)

        return decorate

    def __getattr__(self, name: str) -> Any:  # put_annotation, put_metadata, provider, ...
        return getattr(self.tracer, name)


tracer = DeferredTracer(SERVICE)
