"""The HTTP request/reply values passed between the server and the routers (no HTTP library types leak)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    target: str  # path + "?" + raw query, exactly as sent: the v2 signature covers it
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def first(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[0] if values else None


@dataclass
class HttpReply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    empty: bool = False  # 204-style: no body at all

    def encoded(self) -> bytes:
        return b"" if self.empty else json.dumps(self.body).encode()
