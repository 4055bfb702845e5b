"""The HTTP server and the `EncordDouble` facade.

Request pipeline: count -> faults before handling (latency, status) -> signature check -> route under the state
lock -> faults after handling (drop the connection, or answer an error although the change was applied).
Served at the host root because the SDK drops any path prefix of `domain` for v2 calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import access, routes_v1, routes_v2, routes_workspace, signatures
from .counts import RequestCounts
from .errors import ApiError, ErrorKind
from .faults import FaultConfig, FaultInjector, FaultKind, FaultRule
from .messages import HttpReply, HttpRequest
from .signatures import KeyPair
from .state import DoubleState
from .workflow import sync_all

V1_PATHS = {"/public", "/public/user"}
CONTROL_PREFIX = "/_double/"


class _Dropped(Exception):
    """Close the connection without answering."""


class EncordDouble:
    """An Encord API stand-in on 127.0.0.1, driven by the unmodified SDK over real HTTP.

    >>> with EncordDouble(state) as double:
    ...     client = EncordUserClient.create_with_ssh_private_key(key, domain=double.url)
    """

    def __init__(
        self,
        state: DoubleState | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        state_path: Path | None = None,
    ) -> None:
        self._state = state if state is not None else DoubleState()
        sync_all(self._state)
        self._lock = threading.RLock()
        self._host, self._port = host, port
        self.state_path = state_path
        self.counts = RequestCounts()
        self.faults = FaultInjector()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> EncordDouble:
        double = self

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

        class _Handler(_RequestHandler):
            app = double

        self._server = _Server((self._host, self._port), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="encord-double", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.state_path is not None:
            self.save(self.state_path)

    def __enter__(self) -> EncordDouble:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The double is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    # -- state -----------------------------------------------------------------------------------------------
    @property
    def state(self) -> DoubleState:
        """The live state. Mutate it inside `with double.locked():` while the server runs."""
        return self._state

    @contextmanager
    def locked(self) -> Iterator[DoubleState]:
        with self._lock:
            yield self._state

    def load_state(self, state: DoubleState) -> None:
        with self._lock:
            sync_all(state)
            self._state = state

    def dump_state(self) -> DoubleState:
        with self._lock:
            return self._state.model_copy(deep=True)

    def save(self, path: Path) -> None:
        self.dump_state().save(path)

    def register_key(self, key: KeyPair | None = None) -> KeyPair:
        """Generate (or take) an OpenSSH Ed25519 key pair and accept its signatures."""
        key = key or signatures.generate_key_pair()
        with self._lock:
            if key.public_hex not in self._state.public_keys:
                self._state.public_keys.append(key.public_hex)
        return key

    # -- faults ----------------------------------------------------------------------------------------------
    def add_fault(self, rule: FaultRule) -> None:
        self.faults.add(rule)

    def configure_faults(self, config: FaultConfig) -> None:
        self.faults.configure(config)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- request handling ------------------------------------------------------------------------------------
    def handle(self, req: HttpRequest) -> HttpReply:
        if req.path.startswith(CONTROL_PREFIX):
            return self._control(req)
        if req.path in V1_PATHS and req.method == "POST":
            endpoint = routes_v1.endpoint_key(req)
            resources = access.v1_resources(req)

            def run_v1() -> HttpReply:
                return routes_workspace.dispatch_v1(self._state, req) or routes_v1.dispatch(self._state, req)

            return self._api(req, endpoint, run_v1, v1=True, resources=resources)
        if req.path.startswith(routes_v2.PREFIX):
            endpoint, handler, params = routes_v2.resolve(req.method, req.path)
            if handler is None:  # the workspace calls of `benchmark-qa setup` (routes_workspace.py)
                endpoint, handler, params = routes_workspace.resolve(req.method, req.path)

            def run() -> HttpReply:
                if handler is None:
                    return HttpReply(404, {"message": f"No route for {req.method} {req.path}"})
                try:
                    return handler(self._state, params, req)
                except ApiError as err:
                    return HttpReply(err.kind.http_status, {"message": err.message})

            return self._api(req, endpoint, run, v1=False, resources=access.v2_resources(params, req))
        return HttpReply(404, {"message": f"Not an Encord API path: {req.path}"})

    def _api(
        self,
        req: HttpRequest,
        endpoint: str,
        run: Callable[[], HttpReply],
        *,
        v1: bool,
        resources: list[access.Resource] | None = None,
    ) -> HttpReply:
        self.counts.hit(endpoint)
        fired = self.faults.pick(endpoint)
        for rule in fired:
            if rule.kind is FaultKind.LATENCY:
                time.sleep(rule.latency_seconds)
        for rule in fired:
            if rule.kind is FaultKind.STATUS or (rule.kind is FaultKind.RATE_LIMIT_ENVELOPE and v1):
                return _fault_reply(rule, v1=v1)
        if not self._signed(req, v1=v1):
            if v1:
                return routes_v1.error(ApiError(ErrorKind.AUTHENTICATION, "Invalid signature"))
            return HttpReply(401, {"message": "Invalid or unknown request signature"})
        with self._lock:
            refused = access.refusal(self._state, signatures.claimed_key(v1, req.headers), resources or [])
            if refused is not None:
                return _refused(refused, v1=v1)
            reply = run()
        for rule in fired:
            if rule.kind is FaultKind.DROP:
                raise _Dropped(endpoint)
            if rule.kind is FaultKind.AFTER_APPLY:
                return _fault_reply(rule, v1=v1)
        return reply

    def _signed(self, req: HttpRequest, *, v1: bool) -> bool:
        with self._lock:
            if not self._state.settings.verify_signatures:
                return True
            keys = list(self._state.public_keys)
        if v1:
            return signatures.verify_v1(req.headers.get("authorization"), req.body, keys)
        return signatures.verify_v2(req.method, req.target, req.headers, req.body, keys)

    def _control(self, req: HttpRequest) -> HttpReply:
        """Unsigned test/demo endpoints; never counted."""
        what = req.path[len(CONTROL_PREFIX) :].strip("/")
        if what == "health":
            return HttpReply(200, {"ok": True})
        if what == "counts":
            if req.method == "DELETE":
                self.counts.reset()
            return HttpReply(200, self.counts.snapshot())
        if what == "state":
            if req.method == "POST":
                self.load_state(DoubleState.model_validate(req.json()))
            return HttpReply(200, json.loads(self.dump_state().to_json()))
        if what == "faults":
            if req.method == "POST":
                self.configure_faults(FaultConfig.model_validate(req.json()))
            elif req.method == "DELETE":
                self.clear_faults()
            return HttpReply(200, self.faults.config.model_dump(mode="json"))
        return HttpReply(404, {"message": f"Unknown control endpoint {what!r}"})


def _refused(message: str, *, v1: bool) -> HttpReply:
    if v1:
        return routes_v1.error(ApiError(ErrorKind.AUTHORISATION, message))
    return HttpReply(403, {"message": message})


def _fault_reply(rule: FaultRule, *, v1: bool) -> HttpReply:
    if v1 and rule.kind is FaultKind.RATE_LIMIT_ENVELOPE:
        return HttpReply(200, {"status": 429, "response": ["RATE_LIMIT_ERROR"], "payload": "Rate limit exceeded."})
    kind = next((k for k in ErrorKind if k.http_status == rule.status and k.v1_name.endswith("_ERROR")), None)
    if v1 and kind is not None and rule.status not in {413, 429}:
        return routes_v1.error(ApiError(kind, f"Injected fault ({rule.status})"))
    headers = {}
    if rule.status == 429:
        headers["Retry-After"] = f"{rule.retry_after if rule.retry_after is not None else 0:g}"
    return HttpReply(rule.status, {"message": f"Injected fault ({rule.status})"}, headers)


class _RequestHandler(BaseHTTPRequestHandler):
    app: EncordDouble
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests count requests through the double instead."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        req = HttpRequest(
            method=self.command,
            path=split.path,
            target=self.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            reply = self.app.handle(req)
        except _Dropped:
            self.close_connection = True
            return
        except ValueError as exc:  # bad JSON or a state/fault file that does not validate
            reply = HttpReply(400, {"message": f"Malformed request: {exc}"})
        except Exception as exc:  # a double bug must reach the test as an answer, not a retried dead socket
            reply = HttpReply(500, {"message": f"Encord double error: {exc!r}"})
        payload = reply.encoded()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if not reply.empty:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
