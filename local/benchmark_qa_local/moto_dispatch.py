"""moto server's per-request routing, remembered per host on the local stack.

moto (5.2) finds the backend of every request anew, under one lock for all of the server's threads
(moto/moto_server/werkzeug_app.py `get_application`): `get_backend_for_host` lists moto's package folder and
stats each entry (moto/backends.py `list_of_moto_modules`), then tries the URL patterns of every service one by
one. Measured here: 2.4 ms for an S3 host, 0.8 ms for DynamoDB, out of ~3.7 ms of moto's CPU per request; the
backfill's ~1.4 requests per object spent a third of the emulator's time there, serialised. The answer depends
only on the host (the folder and the patterns do not change while the server runs), so it is kept per host.
"""

from __future__ import annotations

import threading
from typing import Any

_NOT_FOUND = object()


def install() -> None:
    """Patch moto's domain dispatcher in this process (idempotent)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    if getattr(original, "remembers_hosts", False):
        return
    known: dict[str | None, Any] = {}
    lock = threading.Lock()

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        found = known.get(host, _NOT_FOUND)
        if found is _NOT_FOUND:
            found = original(self, host)
            with lock:
                known[host] = found
        return found

    get_backend_for_host.remembers_hosts = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]
