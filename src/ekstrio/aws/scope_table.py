"""The pacing state of every scope a Transport has sent to: one :class:`ScopeBucket` and one
in-flight bound (a ``trio.Semaphore``, or None when unbounded) per scope, made on first use
and forgotten again once they are at rest.

Why forget: a scan over every region of every account touches one EKS scope per
account-region (``("eks", account, region)``), 68,000 on a 2,000-account org, and each uses
it for a few seconds. Kept for the whole scan, a bucket with its lock and a semaphore, about
1 KB each with their parking lots, were the largest part of the scan's memory (about 16 MB
traced per 500 accounts, measured with tracemalloc), where fewer than a hundred scopes are
busy at any moment.

Forgetting changes nothing a caller can see: a scope is forgotten only when it is *at rest*,
in exactly the state a new one starts in (bucket full, at its configured rate, no pause or
recent throttle, nobody queued: :meth:`ScopeBucket.at_rest`; every slot free), and nobody
holds it across a checkpoint without being seen: a call looks its scope up again at each
attempt, and holds a slot (or the bucket's lock, or a token it took) while it waits. So a
scope made again after being forgotten behaves as the old one would have.

Cost: a sweep reads every scope, and runs when a new scope would make the table reach
``limit``, which then doubles the scopes that stayed (at least ``keep``); each scope is
swept about twice over its life, O(1) per new scope.
"""

from __future__ import annotations

from collections.abc import Hashable

import trio

from ekstrio.aws.pacing import RateLimits, ScopeBucket

__all__ = ["ScopeTable"]

Entry = tuple[ScopeBucket, trio.Semaphore | None]


class ScopeTable:
    """Bucket and in-flight bound per scope, made lazily, forgotten when at rest."""

    def __init__(self, rates: RateLimits, *, keep: int = 1024) -> None:
        self.rates = rates
        self.keep = keep
        self._limit = keep
        self._entries: dict[Hashable, Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, scope: Hashable) -> Entry:
        """``scope``'s bucket and in-flight bound (None: unbounded), made if needed."""
        found = self._entries.get(scope)
        if found is None:
            if len(self._entries) >= self._limit:
                self.sweep(trio.current_time())
            bound = self.rates.in_flight_for(scope)
            found = (
                ScopeBucket(self.rates.rate_for(scope), floor=self.rates.min_rate,
                            recovery_s=self.rates.recovery_s, burst=self.rates.burst),
                # max_value: the sweep reads it as "every slot free".
                None if bound is None else trio.Semaphore(bound, max_value=bound),
            )
            self._entries[scope] = found
        return found

    def sweep(self, now: float) -> int:
        """Forget every scope at rest at ``now``; how many were forgotten."""
        idle = [scope for scope, (bucket, slots) in self._entries.items()
                if (slots is None or slots.value == slots.max_value) and bucket.at_rest(now)]
        for scope in idle:
            del self._entries[scope]
        # A dict never shrinks its table on deletes: copy it once it is mostly empty, or the
        # slots of a 68,000-scope peak stay allocated for the whole scan.
        if idle and len(self._entries) < len(idle):
            self._entries = dict(self._entries)
        self._limit = max(self.keep, 2 * len(self._entries))
        return len(idle)
