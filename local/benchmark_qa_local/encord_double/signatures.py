"""Server-side checks of the SDK's two request-signature schemes (see encord/configs.py and
encord/http/v2/request_signer.py), plus generation of the OpenSSH Ed25519 keys the SDK accepts."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

_SIG_LABEL = "encord-sig"
_KEYID = re.compile(r';keyid="([0-9a-fA-F]+)"')


@dataclass(frozen=True)
class KeyPair:
    private_openssh: str
    public_hex: str


def generate_key_pair() -> KeyPair:
    """An unencrypted OpenSSH Ed25519 key: the only format EncordUserClient accepts."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    return KeyPair(private_openssh=private, public_hex=public)


def _verify(public_hex: str, signature: bytes, message: bytes, known: Iterable[str]) -> bool:
    if public_hex.lower() not in {k.lower() for k in known}:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_v1(authorization: str | None, body: bytes, known_keys: Iterable[str]) -> bool:
    """`Authorization: <pubhex>:<hex(sign(sha256(body)))>`."""
    if not authorization or ":" not in authorization:
        return False
    public_hex, sig_hex = authorization.split(":", 1)
    try:
        signature = bytes.fromhex(sig_hex)
    except ValueError:
        return False
    return _verify(public_hex, signature, hashlib.sha256(body).digest(), known_keys)


def claimed_key(v1: bool, headers: Mapping[str, str]) -> str | None:
    """The public key a request says it is signed with (checked by verify_v1 / verify_v2)."""
    if v1:
        authorization = headers.get("authorization") or ""
        return authorization.split(":", 1)[0] if ":" in authorization else None
    keyid = _KEYID.search(headers.get("signature-input", ""))
    return keyid.group(1) if keyid else None


def _sfv_bytes(value: str, label: str) -> bytes | None:
    prefix = f"{label}=:"
    if not (value.startswith(prefix) and value.endswith(":")):
        return None
    try:
        return base64.b64decode(value[len(prefix) : -1], validate=True)
    except ValueError:
        return None


def verify_v2(
    method: str, request_target: str, headers: Mapping[str, str], body: bytes, known_keys: Iterable[str]
) -> bool:
    """HTTP message signature over @method, @request-target and content-digest (headers keyed lower-case)."""
    digest_header = headers.get("content-digest", "")
    signature_input = headers.get("signature-input", "")
    digest = _sfv_bytes(digest_header, "sha-256")
    signature = _sfv_bytes(headers.get("signature", ""), _SIG_LABEL)
    if digest is None or signature is None or digest != hashlib.sha256(body).digest():
        return False
    if not signature_input.startswith(f"{_SIG_LABEL}="):
        return False
    params = signature_input[len(_SIG_LABEL) + 1 :]
    keyid = _KEYID.search(params)
    if keyid is None:
        return False
    base = "\n".join(
        [
            f'"@method": {method.upper()}',
            f'"@request-target": {request_target}',
            f'"content-digest": {digest_header}',
            f'"@signature-params": {params}',
        ]
    )
    return _verify(keyid.group(1), signature, base.encode(), known_keys)
