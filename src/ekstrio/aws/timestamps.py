"""The timestamp format of the AWS caches and of ekstrio's documents (standard library only).

``ekstrio token`` imports this on its cached path, before each kubectl request: no typing,
dataclasses or pathlib here.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(when: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC: what botocore writes and the Go SDK parses strictly."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from the spellings found in these caches, else None.

    botocore reads them with dateutil (lenient), and older CLIs wrote
    ``2021-06-08T00:47:03UTC``; a naive time is taken as UTC. ``fromisoformat`` is C code;
    ``strptime`` would import ``_strptime`` (locale, calendar: ~9 ms on the token path).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith("UTC"):
        text = text[:-3] + "+00:00"
    elif text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
