"""Token buckets per scope, as AWS applies quotas: portal per bearer token, EKS per account+region.

Each bucket holds at most ``max(rate, 1)`` tokens (one second of burst) and refills
continuously, so more than ``rate`` requests in one second on one scope get throttled while the
same load spread over two scopes does not.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Buckets:
    """Many token buckets keyed by scope; ``take`` is O(1) and allocation-free after first use."""

    def __init__(self) -> None:
        self._buckets: dict[Hashable, _Bucket] = {}

    def take(self, scope: Hashable, rate: float, now: float) -> bool:
        """Take one token from ``scope``'s bucket; False when the caller must be throttled.

        ``rate <= 0`` means no quota.
        """
        if rate <= 0:
            return True
        capacity = max(rate, 1.0)
        bucket = self._buckets.get(scope)
        if bucket is None:
            self._buckets[scope] = _Bucket(capacity - 1.0, now)
            return True
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False
