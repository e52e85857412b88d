"""A JSON document as indented text in pieces of about 64 KiB, for large scan documents.

Standard library only: the saved inventory (:mod:`ekstrio.inventory`), ``scan -o json`` and
:mod:`ekstrio.document_formats` write through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)
_PIECE = 64 * 1024


def iter_json(doc: Mapping[str, Any]) -> Iterator[str]:
    """``doc`` as indented JSON (with a final newline) in pieces of about 64 KiB.

    ``json.dumps(indent=2)`` first lists every token of the document, about a million small
    strings for 2,000 accounts, then joins them: that list and the joined copy were the peak
    of a large scan's memory (+57 MB in its last second). Pieces keep it to a few KiB.
    """
    pending: list[str] = []
    size = 0
    for token in _ENCODER.iterencode(doc):
        pending.append(token)
        size += len(token)
        if size >= _PIECE:
            yield "".join(pending)
            pending, size = [], 0
    pending.append("\n")
    yield "".join(pending)


def dumps_json(doc: Mapping[str, Any]) -> str:
    """The whole document as one string, newline included (small documents and tests)."""
    return "".join(iter_json(doc))
