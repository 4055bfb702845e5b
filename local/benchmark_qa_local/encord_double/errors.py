"""Domain errors raised by the state machine, and how each API generation reports them.

v2 answers with the HTTP status (the SDK maps 400 -> InvalidArgumentsError, 401 -> AuthenticationError, ...);
v1 always answers HTTP 200 with {"status": <code>, "response": [<ERROR_NAME>], "payload": ...}, which the SDK
maps by the error name (encord/http/error_utils.py).
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorKind(enum.Enum):
    # (HTTP status for v2, error name for the v1 envelope)
    INVALID_ARGUMENTS = (400, "INVALID_ARGUMENTS_ERROR")
    AUTHENTICATION = (401, "AUTHENTICATION_ERROR")
    AUTHORISATION = (403, "AUTHORISATION_ERROR")
    NOT_FOUND = (404, "RESOURCE_NOT_FOUND_ERROR")
    METHOD_NOT_ALLOWED = (405, "METHOD_NOT_ALLOWED_ERROR")
    EXISTS = (409, "RESOURCE_EXISTS_ERROR")
    PAYLOAD_TOO_LARGE = (413, "PAYLOAD_TOO_LARGE")  # v2 only in the double; v1 answers a real HTTP 413
    MULTI_LABEL_LIMIT = (400, "MULTI_LABEL_LIMIT_ERROR")  # v1 only; its payload names the limit

    @property
    def http_status(self) -> int:
        return self.value[0]

    @property
    def v1_name(self) -> str:
        return self.value[1]


class ApiError(Exception):
    def __init__(self, kind: ErrorKind, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.payload = payload  # v1 envelope payload; defaults to the message


def invalid(message: str) -> ApiError:
    return ApiError(ErrorKind.INVALID_ARGUMENTS, message)


def not_found(message: str) -> ApiError:
    return ApiError(ErrorKind.NOT_FOUND, message)
