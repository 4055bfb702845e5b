"""Errors a CLI user can cause, as one line that says what to do: no region, no credentials, an endpoint that
does not answer, a table or bucket that does not exist, a port in use, no network to Encord, a key Encord
refuses. Anything else is a bug and keeps its traceback."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from typing import Any

LOCAL_STACK_HINT = "is the local stack running (`benchmark-qa demo --keep` or `benchmark-qa stack`)?"


CLIENT_ERRORS = {
    "ResourceNotFoundException": "cannot read table {table} ({message}): check --table / $STATE_TABLE (the stack's "
    "StateTableName output) and the region",
    "NoSuchBucket": "no such bucket {bucket}: check --bucket / $REPORTS_BUCKET (the stack's ReportsBucketName output)",
    "NoSuchKey": "nothing published there yet: ReportFunction writes latest/leaderboard.html on its schedule",
}


def _aws(error: Exception, args: Any) -> str | None:
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(error, NoRegionError):
        return "no AWS region: export AWS_DEFAULT_REGION=us-east-1 (or the region of your stack)"
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials: configure them (aws configure, AWS_PROFILE) or paste the demo's export line"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach {error.kwargs.get('endpoint_url', 'AWS')}: {LOCAL_STACK_HINT} Check AWS_ENDPOINT_URL"
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code, message = str(info.get("Code", "")), str(info.get("Message", ""))
        default = "AWS refused ({code}): {message}; check your credentials, region and names"
        names = {"table": getattr(args, "table", None), "bucket": getattr(args, "bucket", None)}
        return CLIENT_ERRORS.get(code, default).format(code=code, message=message or "not found", **names)
    return None


def _encord(error: Exception, args: Any) -> str | None:
    try:
        from encord.exceptions import AuthenticationError, AuthorisationError, EncordException, RequestException
    except ImportError:  # pragma: no cover - the SDK is a dependency
        return None
    if isinstance(error, RequestException) and error.__cause__ is not None:
        return f"cannot reach Encord ({type(error.__cause__).__name__}): check the network and --domain"
    if isinstance(error, AuthenticationError | AuthorisationError):
        return f"Encord refused the key: {error.message}; register its public key in Encord (Settings > Public keys)"
    if isinstance(error, EncordException):
        return f"Encord: {error.message}"
    return None


def _os(error: Exception, args: Any) -> str | None:
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return "the port is in use: pick another with --port (0 picks any free port), or stop what holds it"
    if isinstance(error, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        return str(error)  # names the path (and, from find_template, the option to pass)
    if isinstance(error, ConnectionError | TimeoutError):
        return f"no connection ({error}): check the network, AWS_ENDPOINT_URL, or that the local stack runs"
    return None


def explain(error: Exception, args: Any = None) -> str | None:
    """The one line for an error the user can fix (naming the table or bucket of `args`), or None for a bug."""
    for reader in (_aws, _encord, _os):
        text = reader(error, args)
        if text is not None:
            return text
    return None


def run_command(command: str, func: Callable[[Any], int], args: Any) -> int:
    try:
        return func(args)
    except KeyboardInterrupt:
        print(f"benchmark-qa {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        text = explain(error, args)
        if text is None:
            raise
        print(f"benchmark-qa {command}: {text}", file=sys.stderr)
        return 2
