"""Opaque pagination tokens for the portal and EKS lists.

A token names the list it belongs to (kind + scope) and the next offset. Its text is standard
base64 and always contains ``+``, ``/`` and ``=``, so a client that does not percent-encode
``next_token`` / ``nextToken`` in the query breaks here, as it would against AWS's opaque tokens.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from enum import Enum
from typing import TypeVar

T = TypeVar("T")

# Three bytes that encode to "+/+/": every token carries both characters that need escaping.
_MARK = b"\xfb\xff\xbf"


def encode(kind: str, scope: str, offset: int) -> str:
    raw = _MARK + f"{kind}|{scope}|{offset}".encode()
    if len(raw) % 3 == 0:
        raw += b"|"  # keep some "=" padding in every token
    return base64.b64encode(raw).decode()


def decode(token: str, kind: str, scope: str) -> int | None:
    """The offset a token points to, or None if it is not a token of this list."""
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_MARK):
        return None
    parts = raw[len(_MARK):].decode("utf-8", "replace").rstrip("|").split("|")
    if len(parts) != 3 or parts[0] != kind or parts[1] != scope or not parts[2].isdigit():
        return None
    return int(parts[2])


def page_size(value: str | None, default: int) -> int | None:
    """``max_result`` / ``maxResults`` as an int in 1..100, the default when absent, else None."""
    if value is None:
        return default
    try:
        size = int(value)
    except ValueError:
        return None
    return size if 1 <= size <= 100 else None


class PageFault(Enum):
    """What is wrong with a list request; each API answers it with its own error."""

    BAD_SIZE = "bad size"  # the page size is not a number in 1..100
    UNKNOWN_PAGE = "unknown page"  # a next token of another list, or past the end


def page(items: Sequence[T], *, kind: str, scope: str, size: str | None, default: int,
         token: str | None) -> tuple[list[T], str | None] | PageFault:
    """The page of ``items`` a request asks for (its ``size`` and ``token`` arguments) and the
    token of the next page (None on the last), or what is wrong with the request. Every list
    of the sim (portal accounts and roles, EKS clusters, access entries and policies) pages
    here."""
    count = page_size(size, default)
    if count is None:
        return PageFault.BAD_SIZE
    start = 0
    if token:
        found = decode(token, kind, scope)
        if found is None or found > len(items):
            return PageFault.UNKNOWN_PAGE
        start = found
    end = start + count
    return list(items[start:end]), (encode(kind, scope, end) if end < len(items) else None)
