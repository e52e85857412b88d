"""A JSON document as indented text in pieces of about 64 KiB, for large scan documents.

Standard library only: the saved inventory (:mod:`ekstrio.inventory`), ``scan -o json`` and
:mod:`ekstrio.document_formats` write through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)
_PIECE = 64 * 1024
_BATCH = 256

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JsonRows(Generic[T]):
    """A list of a document's top level whose items become JSON values a few hundred at a
    time, as :func:`iter_json` writes them: ``to_json(item)`` for each of ``items``.

    Why: the scan document's lists (``completed`` alone is one pair per account-region,
    68,000 on a 2,000-account org over every region) as dicts, all at once, were the scan's
    last memory peak, on top of everything the scan itself still holds.
    """

    items: Sequence[T]
    to_json: Callable[[T], Any]


def iter_json(doc: Mapping[str, Any]) -> Iterator[str]:
    """``doc`` as indented JSON (with a final newline) in pieces of about 64 KiB.

    ``json.dumps(indent=2)`` first lists every token of the document, about a million small
    strings for 2,000 accounts, then joins them: that list and the joined copy were the peak
    of a large scan's memory (+57 MB in its last second). Pieces keep it to a few KiB.
    A top-level value may be :class:`JsonRows`: the text is the same as for the list it
    stands for (byte for byte: ``json.dumps(..., indent=2, ensure_ascii=False)``).
    """
    pending: list[str] = []
    size = 0
    for token in _tokens(doc):
        pending.append(token)
        size += len(token)
        if size >= _PIECE:
            yield "".join(pending)
            pending, size = [], 0
    pending.append("\n")
    yield "".join(pending)


def _tokens(doc: Mapping[str, Any]) -> Iterator[str]:
    if not any(isinstance(value, JsonRows) for value in doc.values()):
        yield from _ENCODER.iterencode(doc)
        return
    if not doc:
        yield "{}"
        return
    # The top level by hand, each value through the encoder and indented one level more:
    # json's indented text has no raw newline inside a string (they are escaped), so
    # adding spaces after each newline is exactly the deeper indentation.
    yield "{"
    first = True
    for key, value in doc.items():
        yield ("\n  " if first else ",\n  ") + _ENCODER.encode(key) + ": "
        first = False
        if not isinstance(value, JsonRows):
            yield _indented(value, "\n  ")
        elif not value.items:
            yield "[]"
        else:
            # A few hundred items per encoder call: one call per item cost half as much
            # CPU again as the whole document at once. Each batch is encoded as a list, one
            # level deeper, and its brackets are cut: "[" + "\n    item,\n    item" + "\n  ]".
            yield "["
            items = value.items
            for start in range(0, len(items), _BATCH):
                batch = [value.to_json(item) for item in items[start:start + _BATCH]]
                yield ("," if start else "") + _indented(batch, "\n  ")[1:-4]
            yield "\n  ]"
    yield "\n}"


def _indented(value: Any, newline: str) -> str:
    return _ENCODER.encode(value).replace("\n", newline)


def dumps_json(doc: Mapping[str, Any]) -> str:
    """The whole document as one string, newline included (small documents and tests)."""
    return "".join(iter_json(doc))
