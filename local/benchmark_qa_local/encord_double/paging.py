"""Opaque page tokens, as Encord's are to the SDK: base64 of "<kind>:<n>" with n an offset or a cursor."""

from __future__ import annotations

import base64

from .errors import invalid


def make_page_token(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def read_page_token(kind: str, token: str) -> int:
    """The n of a token `make_page_token(kind, n)` made; anything else is an invalid-arguments error."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        value = int(number)
        if prefix != kind or value < 0:
            raise ValueError(text)
        return value
    except ValueError as exc:
        raise invalid(f"Invalid page token {token!r}") from exc
