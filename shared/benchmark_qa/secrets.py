"""Secrets Manager reads for the functions, cached per execution environment for SECRET_MAX_AGE_SECONDS: a
rotated secret reaches warm containers within that time, and a warm invocation makes no request.

The provider is this package's own, not Powertools' module default: that one lives outside the layer and keeps
the first endpoint it was built with (the local stack runs several stacks in one process)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

SECRET_MAX_AGE_SECONDS = 300

_lock = threading.Lock()
_provider: SecretsProvider | None = None


class SecretNotText(ValueError):
    """The secret holds binary data; the functions read text secrets only. Names the secret, never its value."""


class SecretNotStored(LookupError):
    """The secret exists but holds no value yet: the template creates the Encord key and webhook secrets empty,
    and a person stores them after the first deploy (docs/setup.md)."""


def _not_stored(error: Exception) -> bool:
    """Secrets Manager's answer for a secret without a current value (or without the secret itself):
    ResourceNotFoundException, which Powertools wraps in GetParameterError (its cause is the context)."""
    cause = error.__context__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code")
    return bool(code == "ResourceNotFoundException")


def secret_string(name: str) -> str:
    global _provider  # noqa: PLW0603 - one provider (and its cache) per execution environment
    with _lock:
        if _provider is None:
            import boto3
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            _provider = SecretsProvider(boto3_client=boto3.client("secretsmanager"))
        provider = _provider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = provider.get(name, max_age=SECRET_MAX_AGE_SECONDS)
    except GetParameterError as error:
        if _not_stored(error):
            raise SecretNotStored(f"secret '{name}' holds no value yet") from None
        raise
    if not isinstance(value, str):
        raise SecretNotText(f"secret '{name}' is not a string secret; store it as text")
    return value
