"""The Encord client: one per process and key, built from the SSH key in Secrets Manager (re-read at most every
SECRET_MAX_AGE_SECONDS, so a rotated key is used by warm containers within that time).

The key never reaches a log or an error: the SDK's own error for a non-Ed25519 key quotes the whole key,
so every failure while loading it is replaced by `EncordKeyError`, which names only the secret."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import TYPE_CHECKING

from benchmark_qa.config import EncordSettings
from benchmark_qa.secrets import SecretNotStored, SecretNotText, secret_string

if TYPE_CHECKING:
    from encord.user_client import EncordUserClient

_lock = threading.Lock()
# settings -> (digest of the key it was built with, client); the digest, not the key, is what is compared.
_clients: dict[tuple[str, str, float, int, float], tuple[str, EncordUserClient]] = {}


class EncordKeyError(RuntimeError):
    """The Encord key could not be loaded. The message names the secret, never its content."""


class EncordKeyMissing(EncordKeyError):
    """No key is stored in the secret yet (a fresh deploy): functions skip their Encord work until there is one."""


def normalise_key(secret_value: str) -> str:
    """Accept the key as stored in Secrets Manager: raw, JSON {"private_key": ...}, or with literal \\n."""
    key, problem = _normalised(secret_value)
    if problem is not None:
        raise EncordKeyError(problem)
    return key


def _normalised(secret_value: str) -> tuple[str, str | None]:
    """(the key, None) or ("", what is wrong). Never raises: a JSONDecodeError keeps the whole secret in `.doc`,
    so no exception of reading it may leave this frame."""
    value = secret_value.strip()
    if value.startswith("{"):
        try:
            value = str(json.loads(value)["private_key"])
        except (ValueError, KeyError, TypeError):
            return (
                "",
                'the secret is JSON but has no "private_key" string; store the key itself or {"private_key": "..."}',
            )
    return value.replace("\\n", "\n").strip() + "\n", None


def client_from_key(
    key: str, settings: EncordSettings, *, secret_name: str, sdk_retries: bool = False
) -> EncordUserClient:
    """The client for `key`, or EncordKeyError naming only the secret.

    The SDK's own error for a non-Ed25519 key quotes the whole key (encord/configs.py:327-328), and `raise ...
    from None` only hides an exception's context, it keeps it in `__context__`. So the key is handled in
    `_built`, which returns instead of raising; the error is raised here, after `key` is deleted, with no
    exception being handled: its `__context__`, `__cause__` and the locals of every frame it passes hold no key.

    `sdk_retries`: let the SDK retry (and sleep for any Retry-After) itself, for callers with no deadline that do
    not retry through a TimeBudget (the `setup` and `doctor` commands)."""
    built = _built(key, settings, sdk_retries)
    del key
    if isinstance(built, str):
        raise EncordKeyError(f"Encord key in secret '{secret_name}': {built}")
    return built


def _built(key: str, settings: EncordSettings, sdk_retries: bool) -> EncordUserClient | str:
    from encord.http.constants import RequestsSettings
    from encord.user_client import EncordUserClient

    timeout = max(1, int(settings.encord_timeout_seconds))
    # No status or read retries in the SDK: it would sleep for any Retry-After, however long. The callers retry
    # within the invocation's time (benchmark_qa.encord.budget, TimeBudget.of(settings)).
    requests_settings = RequestsSettings(
        max_retries=settings.encord_max_retries if sdk_retries else 0,
        backoff_factor=settings.encord_backoff_factor,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
    )
    normalised, problem = _normalised(key)
    if problem is not None:
        return problem
    try:
        return EncordUserClient.create_with_ssh_private_key(
            ssh_private_key=normalised,
            requests_settings=requests_settings,
            domain=settings.encord_domain,
            user_agent_suffix="benchmark-qa",
        )
    except Exception as error:  # never chained or quoted: its message may contain the key
        kind = type(error).__name__
    return (
        f"could not be loaded ({kind}); store an unencrypted OpenSSH Ed25519 private key (ssh-keygen -t ed25519), "
        'raw or as {"private_key": "..."}'
    )


def encord_client(settings: EncordSettings) -> EncordUserClient:
    """The process-wide client for these settings (warm invocations reuse it)."""
    cache_key = (
        settings.encord_key_secret,
        settings.encord_domain,
        settings.encord_timeout_seconds,
        settings.encord_max_retries,
        settings.encord_backoff_factor,
    )
    try:
        secret = secret_string(settings.encord_key_secret)
    except SecretNotStored:
        raise EncordKeyMissing(
            f"no Encord key stored in secret '{settings.encord_key_secret}' yet: store it with aws secretsmanager "
            f"put-secret-value --secret-id {settings.encord_key_secret} --secret-string file://<private key file>"
        ) from None
    except SecretNotText as error:
        raise EncordKeyError(str(error)) from None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    with _lock:
        cached = _clients.get(cache_key)
        if cached is None or cached[0] != digest:
            built = _built(secret, settings, sdk_retries=False)
            del secret  # not in this frame's locals when the error below passes through it
            if isinstance(built, str):
                raise EncordKeyError(f"Encord key in secret '{settings.encord_key_secret}': {built}")
            cached = (digest, built)
            _clients[cache_key] = cached
        return cached[1]
