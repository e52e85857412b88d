"""Opaque pagination tokens for the portal and EKS lists.

A token names the list it belongs to (kind + scope) and the next offset. Its text is standard
base64 and always contains ``+``, ``/`` and ``=``, so a client that does not percent-encode
``next_token`` / ``nextToken`` in the query breaks here, as it would against AWS's opaque tokens.
"""

from __future__ import annotations

import base64
import binascii

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
