"""How fast each scope may send: :class:`RateLimits` (the preset's rates in the transport's
terms) and :class:`ScopeBucket` (one scope's token bucket). Why a scope is paced evenly and
bounded in flight: "Pacing a scope" in :mod:`ekstrio.aws.transport`, which drives both."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import trio

__all__ = ["RETRY_AFTER_CAP", "RateLimits", "ScopeBucket", "scope_kind"]

# A Retry-After longer than this is not waited for in full: one scope's
# answer must not stall a scan for minutes; the retry budget ends it instead.
RETRY_AFTER_CAP = 60.0
_EPSILON = 1e-9


def scope_kind(scope: Hashable) -> Hashable:
    """What rates and limits are chosen by: ``scope[0]`` (``"portal"``, ``"eks"``) of a
    tuple scope, else the scope itself."""
    return scope[0] if isinstance(scope, tuple) and scope else scope


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Requests per second for each scope kind (``scope[0]``), and how a scope
    may spend them (see "Pacing a scope" in the module docstring).

    A rate that is not a positive finite number means "no limit".
    ``min_rate`` is the floor a throttled scope is never slowed below;
    ``recovery_s`` is how long a scope takes to climb from the floor back to
    its configured rate when no further throttles arrive.

    ``burst`` is the most tokens a scope's bucket holds, never more than one
    second's worth: ``None`` = the scope's current rate (a one-second burst);
    ``1.0`` = nothing saved up, so call starts are exactly ``1/rate`` apart.

    ``scope_in_flight`` bounds the calls of ONE scope from taking their rate
    token until their answer: ``None`` = no bound; ``n > 0`` = ``n`` per
    scope; ``0`` = ``ceil(rate)`` of that scope (one second's worth, unbounded
    for an unlimited rate), so each scope kind gets a bound fitting its rate.
    """

    default_rate: float = 10.0
    rates: Mapping[str, float] = field(default_factory=dict)
    min_rate: float = 0.5
    recovery_s: float = 30.0
    burst: float | None = None
    scope_in_flight: int | None = None

    def __post_init__(self) -> None:
        if self.burst is not None and not self.burst >= 1.0:
            # A bucket that can never hold a whole token would never send.
            raise ValueError(f"burst must be at least 1 token, not {self.burst!r}")
        if self.scope_in_flight is not None and self.scope_in_flight < 0:
            raise ValueError(f"scope_in_flight must be >= 0, not {self.scope_in_flight!r}")

    def rate_for(self, scope: Hashable) -> float:
        kind = scope_kind(scope)
        rate = self.rates.get(kind, self.default_rate) if isinstance(kind, str) else None
        return self.default_rate if rate is None else rate

    def in_flight_for(self, scope: Hashable) -> int | None:
        """How many calls of ``scope`` may hold a rate token at once (None: any)."""
        if self.scope_in_flight is None or self.scope_in_flight > 0:
            return self.scope_in_flight
        rate = self.rate_for(scope)
        return max(1, math.ceil(rate)) if math.isfinite(rate) and rate > 0 else None


class ScopeBucket:
    """A token bucket for one scope, AIMD-style: halved on a throttle (at most
    once per second, so one burst of 429s counts once), then climbing back
    linearly; a ``Retry-After`` closes it until that moment.

    Waiters queue on a fair ``trio.Lock``, so they are served in arrival order
    and a sleeping waiter re-reads the rate when it wakes.

    ``burst`` caps the capacity (see :class:`RateLimits`); with ``burst=1`` a
    throttle still halves the rate, which then widens the spacing.
    """

    def __init__(self, rate: float, *, floor: float, recovery_s: float,
                 burst: float | None = None) -> None:
        self.base_rate = rate
        self.burst = math.inf if burst is None else burst
        self.unlimited = not (math.isfinite(rate) and rate > 0)
        self.rate = rate
        self.floor = min(floor, rate) if not self.unlimited else floor
        # Gain per second while recovering: from the floor to the base in recovery_s.
        self._recovery_per_s = (
            0.0 if self.unlimited else (rate - self.floor) / max(recovery_s, 1e-9)
        )
        self.capacity = 1.0 if self.unlimited else self._capacity(rate)
        self.tokens = self.capacity
        self.not_before = -math.inf
        self._updated: float | None = None
        self._last_cut = -math.inf
        self._lock = trio.Lock()

    def _capacity(self, rate: float) -> float:
        return max(1.0, min(rate, self.burst))

    def _refill(self, now: float) -> None:
        if self._updated is None:
            self._updated = now
            return
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        if self.rate < self.base_rate:
            self.rate = min(self.base_rate, self.rate + self._recovery_per_s * elapsed)
        self.capacity = self._capacity(self.rate)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)

    async def acquire(self) -> None:
        """Wait until this scope may send one more request."""
        if not self._lock.locked() and self._take(trio.current_time()):
            # Nobody queued (a waiter would hold the lock) and a token is there: taken at
            # once, without the lock's trip through the scheduler (see transport._acquire).
            return
        async with self._lock:
            while not self._take(now := trio.current_time()):
                if now < self.not_before:
                    await trio.sleep_until(self.not_before)
                else:
                    await trio.sleep((1.0 - self.tokens) / self.rate)

    def at_rest(self, now: float) -> bool:
        """In the state a new bucket starts in: full, at its configured rate, no pause or
        throttle still counting, nobody queued; so it may be dropped and made again
        (:mod:`ekstrio.aws.scope_table`). Refills it to ``now`` as ``acquire`` would."""
        if self._lock.locked() or now < self.not_before or now - self._last_cut < 1.0:
            return False
        if self.unlimited:
            return True
        self._refill(now)
        return self.rate >= self.base_rate and self.tokens >= self.capacity - _EPSILON

    def _take(self, now: float) -> bool:
        """Take a token if one may be taken now (no pause, a token in the bucket)."""
        if now < self.not_before:
            return False
        if self.unlimited:
            return True
        self._refill(now)
        # The epsilon absorbs float rounding: without it a bucket can sit at 0.9999999999
        # and ask for sleeps too short to move the clock, spinning forever.
        if self.tokens >= 1.0 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False

    def throttled(self, retry_after: float | None = None) -> None:
        """The service throttled this scope: slow down, and pause if asked."""
        now = trio.current_time()
        if retry_after is not None and retry_after > 0:
            self.not_before = max(self.not_before, now + min(retry_after, RETRY_AFTER_CAP))
        if self.unlimited or now - self._last_cut < 1.0:
            return
        self._refill(now)
        self._last_cut = now
        self.rate = max(self.floor, self.rate / 2)
        self.capacity = self._capacity(self.rate)
        # Drop the saved-up burst too: a halved rate with a full bucket would
        # send the same burst that was just refused.
        self.tokens = min(self.tokens, 0.0)
