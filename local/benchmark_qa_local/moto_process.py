"""moto server in a process of its own, with the local stack's patches (moto_dynamodb, moto_s3) installed there.

In the stack's own process (the default), moto shares one interpreter lock with the functions the invoker runs,
the Encord double and the test: a long run (the 100,000-object backfill soak) uses one core however many the
machine has. Here moto answers from a second process, still moto in server mode built from template.yaml,
so the emulator's work runs beside the client's.

    python -m benchmark_qa_local.moto_process [PORT]     # prints "http://127.0.0.1:PORT", serves until stdin closes

The server stops when its standard input closes: when the parent stops it, and also when the parent dies
without stopping it (no orphaned server keeps a port or memory)."""

from __future__ import annotations

import logging
import os
import selectors
import subprocess
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

READY_SECONDS = 60.0  # importing moto and binding the port; minutes only on a machine far past its cores


class MotoProcess:
    """The child process: `start()` returns its endpoint, `stop()` ends it (and waits for it)."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._child: subprocess.Popen[str] | None = None

    def start(self) -> str:
        self._child = subprocess.Popen(  # noqa: S603  # this interpreter, a module of this package
            [sys.executable, "-m", __name__, str(self._port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stdout: IO[str] | None = self._child.stdout
        assert stdout is not None
        with selectors.DefaultSelector() as waiting:  # moto waits forever on a port taken meanwhile: so do not we
            waiting.register(stdout, selectors.EVENT_READ)
            ready = waiting.select(timeout=READY_SECONDS)
        endpoint = stdout.readline().strip() if ready else ""  # the child prints it once it listens
        if not endpoint.startswith("http://"):
            self.stop()
            raise RuntimeError(
                f"moto server process did not start in {READY_SECONDS:.0f} s (it printed {endpoint!r}); see its stderr"
            )
        return endpoint

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()  # the child's signal to stop
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def serve(port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """moto server with the local stack's patches, listening on 127.0.0.1:`port` (0: any free port), and its
    endpoint: the same in the stack's own process and in a process of its own."""
    from moto.server import ThreadedMotoServer

    from benchmark_qa_local import moto_dispatch, moto_dynamodb, moto_s3

    moto_dynamodb.install()  # the emulator's transactions and index queries must not cost O(table size)
    moto_s3.install()  # the emulator must report a bucket's EventBridge notifications
    moto_dispatch.install()  # routing a request to its service: once per host, not once per request
    # werkzeug logs every request at INFO; keep stderr for the functions' own logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return server, f"http://{host}:{bound}"


def main() -> None:
    _, endpoint = serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(endpoint, flush=True)
    sys.stdin.read()  # until the parent closes it (or dies)
    # Nothing to keep: end at once (a graceful server stop with gigabytes of emulated state took ~25 s).
    os._exit(0)


if __name__ == "__main__":
    main()
