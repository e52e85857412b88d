"""The call counters of a run: the transport counts into them, the report and progress read
them (one declaration for both; no HTTP client import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class CallStats:
    """Counters for a run. ``calls``: HTTP attempts sent; ``retries``: attempts
    after the first; ``throttles``: throttling answers; ``errors``: calls that
    failed for good (after retries)."""

    calls: int = 0
    retries: int = 0
    throttles: int = 0
    errors: int = 0
