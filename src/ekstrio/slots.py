"""A semaphore that serves its waiters highest priority first.

The scan bounds its frontier (active account-regions, accounts in the portal stage) and wants
the busiest work to go first. A plain ``trio.Semaphore`` serves tasks in the order they reach
``acquire``, and tasks started together reach it in an order trio deliberately leaves open:
it runs each batch of ready tasks forwards or backwards at random. So a waiter queues first,
yields once so that the tasks started with it can queue too, and only then are free slots
handed out, best priority first (first come first served among equals).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio


@dataclass(eq=False)
class _Waiter:
    event: trio.Event = field(default_factory=trio.Event)
    granted: bool = False


# The heap holds (rank, arrival, waiter): rank is (-priority, order or arrival), so heapq
# pops the smallest; the arrival number is unique, so tuples never compare two waiters and
# every comparison stays in C (a dataclass __lt__ was a Python call per heap step).
_Entry = tuple[tuple[int, int], int, _Waiter]


class PrioritySlots:
    """At most ``total`` holders at once; waiters are served by priority, then arrival."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("PrioritySlots needs at least one slot")
        self._free = total
        self._heap: list[_Entry] = []
        self._arrivals = itertools.count()

    @asynccontextmanager
    async def hold(self, priority: int = 0, order: int | None = None) -> AsyncIterator[None]:
        await self.acquire(priority, order)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, priority: int = 0, order: int | None = None) -> None:
        """Wait for a slot; the caller must :meth:`release` it (or use :meth:`hold`).

        Among equal priorities the lower ``order`` goes first; without one, arrival order.
        Callers that start their tasks in a meaningful order pass it: tasks started in one
        batch arrive in an order trio leaves open.
        """
        arrival = next(self._arrivals)
        waiter = _Waiter()
        entry = ((-priority, arrival if order is None else order), arrival, waiter)
        heapq.heappush(self._heap, entry)
        try:
            if self._free:
                # One checkpoint: every task started in the same batch queues before any
                # free slot is served. With none free there is nothing to hand out early:
                # release() serves the queue, so the wait below is the only step.
                await trio.lowlevel.checkpoint()
                self._grant()
            if not waiter.granted:
                # Granted already is common: Event.wait on a set event would still yield.
                await waiter.event.wait()
        except BaseException:
            if waiter.granted:
                self.release()  # granted while being cancelled: pass the slot on
            else:
                self._heap.remove(entry)
                heapq.heapify(self._heap)
            raise

    def release(self) -> None:
        self._free += 1
        self._grant()

    def _grant(self) -> None:
        while self._free and self._heap:
            waiter = heapq.heappop(self._heap)[2]
            waiter.granted = True
            self._free -= 1
            waiter.event.set()
