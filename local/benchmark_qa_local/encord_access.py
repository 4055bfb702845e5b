"""The Encord client of a command-line run, built the way the Lambdas build theirs (benchmark_qa.encord.client):
the same key normalisation, and errors that never quote the key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from encord.user_client import EncordUserClient

KEY_FILE_VARIABLE = "ENCORD_SSH_KEY_FILE"  # the SDK's own variable (encord/configs.py)


def key_file(*candidates: Path | None) -> Path:
    """The first key file given, else $ENCORD_SSH_KEY_FILE; EncordKeyError when there is none."""
    from benchmark_qa.encord.client import EncordKeyError

    for candidate in (*candidates, os.environ.get(KEY_FILE_VARIABLE)):
        if candidate:
            return Path(candidate).expanduser()
    raise EncordKeyError(f"no Encord key: pass --key-file, set encord.key_file, or set ${KEY_FILE_VARIABLE}")


def client_from_text(key: str, domain: str, *, source: str, sdk_retries: bool = True) -> EncordUserClient:
    """`sdk_retries`: the SDK retries and honours Retry-After itself (a command line has no deadline); False for
    callers that retry through a TimeBudget (`route`), so retries do not multiply."""
    from benchmark_qa.config import EncordSettings
    from benchmark_qa.encord.client import client_from_key

    settings = EncordSettings(encord_domain=domain, encord_key_secret=source)
    return client_from_key(key, settings, secret_name=source, sdk_retries=sdk_retries)


def client_from_file(path: Path, domain: str, *, sdk_retries: bool = True) -> EncordUserClient:
    from benchmark_qa.encord.client import EncordKeyError

    try:
        key = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EncordKeyError(f"cannot read the Encord key file {path}: {error.strerror}") from None
    return client_from_text(key, domain, source=str(path), sdk_retries=sdk_retries)
