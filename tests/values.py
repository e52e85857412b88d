"""Small helpers for test values."""

from __future__ import annotations


def different(value: str) -> str:
    """``value`` with its last character changed: always unequal to ``value``.

    Editing a random value the obvious way (``value[:-1] + "x"``) gives the value itself back
    whenever it already ends in ``x``; a "wrong" secret or verifier built so is sometimes right.
    """
    if not value:
        return "x"
    return value[:-1] + ("y" if value[-1] == "x" else "x")
