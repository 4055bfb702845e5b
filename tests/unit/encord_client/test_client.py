"""The Encord client factory: key formats it accepts, and a key that never shows up in an error or a log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from benchmark_qa import secrets
from benchmark_qa.config import EncordSettings
from benchmark_qa.encord import client as client_module
from benchmark_qa.encord.client import EncordKeyError, client_from_key, encord_client, normalise_key
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from moto import mock_aws

SETTINGS = EncordSettings(
    encord_key_secret="arn:aws:secretsmanager:us-east-1:1:secret:encord-key", encord_domain="http://127.0.0.1:9"
)


def openssh(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


def body_lines(pem: str) -> list[str]:
    """The secret part of a PEM: every line between the armour lines."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(lambda k: k, id="raw"),
        pytest.param(lambda k: k.replace("\n", "\\n"), id="escaped-newlines"),
        pytest.param(lambda k: json.dumps({"private_key": k}), id="json"),
    ],
)
def test_an_ed25519_key_is_accepted_as_stored_in_secrets_manager(stored: Callable[[str], str]) -> None:
    key = openssh(ed25519.Ed25519PrivateKey.generate())

    client = client_from_key(stored(key), SETTINGS, secret_name="encord-key")

    assert client is not None
    assert normalise_key(stored(key)) == key.rstrip("\n") + "\n"


def places_holding(error: BaseException, secret_lines: list[str]) -> list[str]:
    """Every place an error reporter could read that quotes a line of the secret: the message, repr and args of
    each exception in the chain (__cause__ and __context__, suppressed or not), and the locals of every frame
    in each traceback (what Sentry-style reporters capture)."""
    found: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts = {"str": str(current), "repr": repr(current), "args": repr(current.args)}
        texts.update({k: repr(v) for k, v in vars(current).items()})  # e.g. JSONDecodeError.doc
        tb = current.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code.co_name
            if tb.tb_frame.f_code.co_filename == __file__ and code.startswith("test_"):  # the test holds its canary
                tb = tb.tb_next
                continue
            texts.update({f"{code}:{name}": repr(value) for name, value in tb.tb_frame.f_locals.items()})
            tb = tb.tb_next
        found += [
            f"{type(current).__name__} {where}" for where, text in texts.items() if any(x in text for x in secret_lines)
        ]
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return found


def test_an_rsa_key_is_refused_without_quoting_it(caplog: pytest.LogCaptureFixture) -> None:
    # The SDK's own error for a non-Ed25519 key contains the whole key: the canary must not escape.
    canary = openssh(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(EncordKeyError) as raised:
        client_from_key(canary, SETTINGS, secret_name="encord-key")

    message = str(raised.value)
    assert "encord-key" in message
    assert "Ed25519" in message
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
    for line in body_lines(canary):
        assert line not in message
        assert line not in caplog.text
    assert places_holding(raised.value, body_lines(canary)) == []


def test_the_canary_walk_finds_a_key_hidden_by_raise_from_none() -> None:
    """The walk itself can fail: `raise ... from None` inside the except block (what the client used to do)
    keeps the SDK's error, which quotes the key, in __context__, and the key in the frame's locals."""
    canary = openssh(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def old_style(key: str) -> None:
        from encord.user_client import EncordUserClient

        try:
            EncordUserClient.create_with_ssh_private_key(ssh_private_key=key)
        except Exception:
            raise EncordKeyError("could not be loaded") from None

    with pytest.raises(EncordKeyError) as raised:
        old_style(canary)
    assert places_holding(raised.value, body_lines(canary))


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(lambda k: "{" + k, id="json-that-does-not-parse"),
        pytest.param(lambda k: json.dumps({"key": k}), id="json-without-private-key"),
        pytest.param(lambda k: k.replace("OPENSSH", "RSA"), id="not-openssh"),
    ],
)
def test_no_exception_chain_or_frame_holds_the_key(stored: Callable[[str], str]) -> None:
    canary = openssh(ed25519.Ed25519PrivateKey.generate())

    with pytest.raises(EncordKeyError) as raised:
        client_from_key(stored(canary), SETTINGS, secret_name="encord-key")

    assert places_holding(raised.value, body_lines(canary)) == []


def test_a_pkcs8_key_is_refused_with_what_to_do() -> None:
    pkcs8 = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )

    with pytest.raises(EncordKeyError) as raised:
        client_from_key(pkcs8, SETTINGS, secret_name="encord-key")

    assert "ssh-keygen -t ed25519" in str(raised.value)
    for line in body_lines(pkcs8):
        assert line not in str(raised.value)


def test_json_without_a_private_key_field_names_the_field() -> None:
    with pytest.raises(EncordKeyError, match='"private_key"'):
        client_from_key(json.dumps({"key": "x"}), SETTINGS, secret_name="encord-key")


@pytest.fixture
def key_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """A secret holding an Ed25519 key in Secrets Manager (moto in process), and a fresh client cache."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(secrets, "_provider", None)
    monkeypatch.setattr(client_module, "_clients", {})
    with mock_aws():
        manager = boto3.client("secretsmanager", region_name="us-east-1")
        arn = manager.create_secret(Name="encord-key", SecretString=openssh(ed25519.Ed25519PrivateKey.generate()))[
            "ARN"
        ]
        yield manager, arn


def test_a_bad_key_read_from_secrets_manager_leaves_no_trace_in_the_chain(key_secret: tuple[Any, str]) -> None:
    manager, arn = key_secret
    canary = openssh(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    manager.put_secret_value(SecretId=arn, SecretString=canary)
    settings = SETTINGS.model_copy(update={"encord_key_secret": arn})

    with pytest.raises(EncordKeyError, match="could not be loaded") as raised:
        encord_client(settings)

    assert places_holding(raised.value, body_lines(canary)) == []


def test_warm_invocations_reuse_one_client(key_secret: tuple[Any, str]) -> None:
    _, arn = key_secret
    settings = SETTINGS.model_copy(update={"encord_key_secret": arn})

    assert encord_client(settings) is encord_client(settings)


def test_a_rotated_key_waits_for_the_cached_secret_to_expire(key_secret: tuple[Any, str]) -> None:
    manager, arn = key_secret
    settings = SETTINGS.model_copy(update={"encord_key_secret": arn})
    first = encord_client(settings)
    manager.put_secret_value(SecretId=arn, SecretString=openssh(ed25519.Ed25519PrivateKey.generate()))

    assert encord_client(settings) is first, "within SECRET_MAX_AGE_SECONDS no request, the cached key is used"


def test_a_rotated_key_gets_a_new_client_an_unchanged_one_keeps_its_client(
    key_secret: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "SECRET_MAX_AGE_SECONDS", 0)  # every read goes to Secrets Manager
    manager, arn = key_secret
    settings = SETTINGS.model_copy(update={"encord_key_secret": arn})
    first = encord_client(settings)
    assert encord_client(settings) is first

    manager.put_secret_value(SecretId=arn, SecretString=openssh(ed25519.Ed25519PrivateKey.generate()))
    rotated = encord_client(settings)

    assert rotated is not first
    assert encord_client(settings) is rotated


@pytest.mark.parametrize(("sdk_retries", "expected"), [(False, 0), (True, SETTINGS.encord_max_retries)])
def test_the_sdk_retries_only_for_callers_without_a_time_budget(sdk_retries: bool, expected: int) -> None:
    """Lambdas and `route` retry through a TimeBudget (SDK retries off, or the two would multiply and the SDK
    would sleep for any Retry-After); `setup` and `doctor` have no deadline and let the SDK retry."""
    key = openssh(ed25519.Ed25519PrivateKey.generate())

    client = client_from_key(key, SETTINGS, secret_name="encord-key", sdk_retries=sdk_retries)

    assert client._config.requests_settings.max_retries == expected
