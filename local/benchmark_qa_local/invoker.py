"""A Docker-free `sam local invoke`: reads the function's Handler, CodeUri, Layers, Timeout, MemorySize and
environment from template.yaml and runs the handler in this process with a realistic LambdaContext.

Warm starts are emulated: the loaded handler module is kept per (function, environment) and reused, as
Lambda reuses an execution environment; `cold=True` (or a changed environment) starts a fresh one.
The result or error is reported as Lambda reports it (errorType, errorMessage, stackTrace)."""

from __future__ import annotations

import decimal
import io
import json
import logging
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from benchmark_qa_local.deployment import LocalDeployment
from benchmark_qa_local.lambda_context import LocalLambdaContext
from benchmark_qa_local.sandbox import FunctionSandbox, lambda_environment
from benchmark_qa_local.stack import LocalStack, endpoint_from_environment, find_template
from benchmark_qa_local.template import FunctionSpec, SamTemplate, TemplateError

logger = logging.getLogger(__name__)

LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")


class ExecutionEnvironmentDied(BaseException):  # Lambda's name for it is Runtime.ExitError
    """The execution environment died mid-call (killed, out of memory): a BaseException, so no handler's
    `except Exception` survives it. Reported as Runtime.ExitError; the next call starts cold."""


class InvocationError(RuntimeError):
    """Raised by `InvocationResult.raise_for_error()`; carries Lambda's error document."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(f"{error.get('errorType')}: {error.get('errorMessage')}")
        self.error = dict(error)


@dataclass
class InvocationResult:
    function: str
    request_id: str
    payload: Any = None
    error: dict[str, Any] | None = None
    logs: str = ""
    duration_ms: float = 0.0
    init_duration_ms: float | None = None  # set on a cold start, as in Lambda's REPORT line
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def cold_start(self) -> bool:
        return self.init_duration_ms is not None

    def raise_for_error(self) -> Any:
        if self.error is not None:
            raise InvocationError(self.error)
        return self.payload

    def response(self) -> Any:
        """What `aws lambda invoke` would write to its outfile: the payload or the error document."""
        return self.error if self.error is not None else self.payload


def load_env_vars(source: str | Path | Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """A sam-style --env-vars document: {"Parameters": {VAR: value}, "<FunctionLogicalId>": {VAR: value}}."""
    if source is None:
        return {}
    document = json.loads(Path(source).read_text()) if isinstance(source, (str, Path)) else source
    if not isinstance(document, Mapping) or not all(isinstance(v, Mapping) for v in document.values()):
        raise TemplateError('--env-vars must be {"Parameters": {...}, "<FunctionLogicalId>": {...}}')
    return {str(scope): {str(k): str(v) for k, v in values.items()} for scope, values in document.items()}


class _StdoutRouter(io.TextIOBase):
    """Stands in for sys.stdout while handlers run. Loggers created at cold start keep a reference to the
    stream they saw (Powertools' Logger does), so the same router object serves every later call and
    sends each write to the current call's log buffer and to the echo stream."""

    def __init__(self) -> None:
        self.capture: io.StringIO | None = None
        self.echo: IO[str] | None = None

    def write(self, text: str) -> int:
        if self.capture is not None:
            self.capture.write(text)
        target = self.echo if self.echo is not None else sys.__stderr__
        if target is not None:
            target.write(text)
        return len(text)

    def flush(self) -> None:
        if self.echo is not None:
            self.echo.flush()


_ROUTER = _StdoutRouter()


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):  # the Python runtime's marshaller accepts Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Invoker:
    """Runs template functions in-process. Not thread-safe per function; calls are serialised by a lock."""

    def __init__(
        self,
        template_path: str | Path | None = None,
        stack: LocalStack | None = None,
        *,
        env_vars: str | Path | Mapping[str, Any] | None = None,
        log_stream: IO[str] | None = None,
    ) -> None:
        """`stack=None` resolves names without a stack: against $AWS_ENDPOINT_URL if set, else real-AWS
        names (dummy credentials, so AWS calls fail). `log_stream` receives the functions' stdout (default
        stderr); every call's output is also in `InvocationResult.logs`."""
        if stack is not None:
            self.template = stack.template
            self.deployment = stack.deployment
        else:
            self.template = SamTemplate.load(template_path or find_template())
            self.deployment = LocalDeployment(self.template, endpoint_url=endpoint_from_environment())
        if template_path is not None and Path(template_path).resolve() != self.template.path:
            raise TemplateError(f"the stack was built from {self.template.path}, not {template_path}")
        self.env_vars = load_env_vars(env_vars)
        self.log_stream = log_stream
        self._sandboxes: dict[tuple[str, tuple[tuple[str, str], ...]], FunctionSandbox] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ what a function sees

    def environment(self, logical_id: str) -> dict[str, str]:
        overrides = {**self.env_vars.get("Parameters", {}), **self.env_vars.get(logical_id, {})}
        ignored = set(overrides) - set(self.template.function(logical_id).environment)
        if ignored:
            logger.warning("%s: --env-vars %s ignored: not declared in the template", logical_id, sorted(ignored))
        return self.deployment.function_environment(logical_id, overrides)

    def layer_paths(self, spec: FunctionSpec) -> list[Path]:
        """Where Lambda would unpack each layer (/opt/python): a ContentUri built by `sam build` with a
        python BuildMethod is the package folder itself; a prebuilt layer keeps its code under python/."""
        paths: list[Path] = []
        for layer in spec.layers:
            logical_id = layer.get("Ref") if isinstance(layer, Mapping) else None
            if not (logical_id and logical_id in self.template.resources):
                logger.warning(
                    "%s: layer %s is not in the template; its packages must be installed", spec.logical_id, layer
                )
                continue
            if self.template.resource_type(logical_id) not in LAYER_TYPES:
                raise TemplateError(f"{spec.logical_id}: Layers refers to {logical_id}, which is not a layer")
            properties = self.template.properties(logical_id)
            content = (self.template.base_dir / str(properties.get("ContentUri", "."))).resolve()
            build_method = str(self.template.resources[logical_id].get("Metadata", {}).get("BuildMethod", ""))
            built_from_source = build_method.startswith("python")
            paths.append(content if built_from_source or not (content / "python").is_dir() else content / "python")
        return paths

    def sandbox_for(
        self, logical_id: str, environment: Mapping[str, str], *, cold: bool
    ) -> tuple[FunctionSandbox, bool]:
        key = (logical_id, tuple(sorted(environment.items())))
        if not cold and key in self._sandboxes:
            return self._sandboxes[key], False
        spec = self.template.function(logical_id)
        module_path, _, function_name = spec.handler.rpartition(".")
        handler_file = spec.code_dir / (module_path.replace(".", "/") + ".py")
        unique = re.sub(r"\W", "_", f"_lambda_{logical_id}_{uuid.uuid4().hex[:8]}_{module_path}")
        sandbox = FunctionSandbox(unique, handler_file, function_name, [spec.code_dir, *self.layer_paths(spec)])
        self._sandboxes[key] = sandbox
        return sandbox, True

    # ------------------------------------------------------------------ invoke

    def invoke(self, logical_id: str, event: Any, *, cold: bool = False) -> InvocationResult:
        with self._lock:
            return self._invoke(logical_id, event, cold=cold)

    def _invoke(self, logical_id: str, event: Any, *, cold: bool) -> InvocationResult:
        spec = self.template.function(logical_id)
        physical = self.deployment.resource(logical_id)
        environment = self.environment(logical_id)
        sandbox, is_cold = self.sandbox_for(logical_id, environment, cold=cold)
        request_id = str(uuid.uuid4())
        log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid5(uuid.NAMESPACE_URL, sandbox.module_name).hex}"
        result = InvocationResult(function=logical_id, request_id=request_id)
        variables = {**environment, **self.deployment.runtime_environment(spec, log_stream)}
        # Lambda hands the handler a JSON document, never the caller's objects.
        event = json.loads(json.dumps(event))
        capture = io.StringIO()
        previous = (_ROUTER.capture, _ROUTER.echo)
        _ROUTER.capture, _ROUTER.echo = capture, self.log_stream or sys.stderr
        try:
            with lambda_environment(variables), sandbox.active(), redirect_stdout(_ROUTER):
                print(f"START RequestId: {request_id} Version: $LATEST")
                if is_cold:
                    started = time.monotonic()
                    try:
                        sandbox.load()
                    except BaseException as error:
                        self._discard(sandbox)
                        result.error = _init_error(error, spec.handler)
                        print(json.dumps(result.error))
                        return result
                    finally:
                        result.init_duration_ms = (time.monotonic() - started) * 1000
                self._run(
                    sandbox=sandbox,
                    spec=spec,
                    function_name=physical.name,
                    event=event,
                    request_id=request_id,
                    log_stream=log_stream,
                    result=result,
                )
                print(f"END RequestId: {request_id}")
                print(
                    f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
                    f"Memory Size: {spec.memory_mb} MB"
                    + (f"\tInit Duration: {result.init_duration_ms:.2f} ms" if result.init_duration_ms else "")
                )
        finally:
            _ROUTER.capture, _ROUTER.echo = previous
            result.logs = capture.getvalue()
        return result

    def _run(
        self,
        *,
        sandbox: FunctionSandbox,
        spec: FunctionSpec,
        function_name: str,
        event: Any,
        request_id: str,
        log_stream: str,
        result: InvocationResult,
    ) -> None:
        assert sandbox.handler is not None
        started = time.monotonic()
        context = LocalLambdaContext(
            function_name=function_name,
            function_version="$LATEST",
            invoked_function_arn=self.deployment.resource(spec.logical_id).attributes["Arn"],
            memory_limit_in_mb=spec.memory_mb,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function_name}",
            log_stream_name=log_stream,
            deadline_monotonic=started + spec.timeout_seconds,
        )
        try:
            payload = sandbox.handler(event, context)
            result.payload = json.loads(json.dumps(payload, default=_json_default))
        except Exception as error:
            result.error = _handler_error(error, request_id)
            print(json.dumps(result.error))
        except ExecutionEnvironmentDied as error:
            result.error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited without providing a reason ({error})",
            }
            print(json.dumps(result.error))
            self._discard(sandbox)
        finally:
            result.duration_ms = (time.monotonic() - started) * 1000
        if result.duration_ms > spec.timeout_seconds * 1000:
            # The call cannot be interrupted in-process; report what Lambda would have reported, and start
            # the next call cold, as Lambda replaces a timed-out environment.
            result.timed_out, result.payload = True, None
            result.error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": (
                    f"RequestId: {request_id} Error: Task timed out after {spec.timeout_seconds:.2f} seconds"
                ),
            }
            self._discard(sandbox)

    def _discard(self, sandbox: FunctionSandbox) -> None:
        for key in [k for k, s in self._sandboxes.items() if s is sandbox]:
            del self._sandboxes[key]


def _handler_error(error: BaseException, request_id: str) -> dict[str, Any]:
    if isinstance(error, TypeError) and "JSON serializable" in str(error):
        return {
            "errorType": "Runtime.MarshalError",
            "errorMessage": f"Unable to marshal response: {error}",
            "requestId": request_id,
            "stackTrace": [],
        }
    frames = traceback.extract_tb(error.__traceback__)[1:]  # drop the invoker's own frame, as Lambda does
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _init_error(error: BaseException, handler: str) -> dict[str, Any]:
    module, _, name = handler.rpartition(".")
    if isinstance(error, (ImportError, SyntaxError)):
        error_type, message = "Runtime.ImportModuleError", f"Unable to import module '{module}': {error}"
    elif isinstance(error, AttributeError) and name in str(error):
        error_type, message = "Runtime.HandlerNotFound", f"Handler '{name}' missing on module '{module}'"
    else:
        error_type, message = type(error).__name__, str(error)
    frames = traceback.extract_tb(error.__traceback__)
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }
