"""PrioritySlots: bounded holders, served by priority whatever order trio runs tasks in."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from ekstrio.slots import PrioritySlots


async def test_tasks_started_together_are_served_by_priority() -> None:
    # trio runs each batch of ready tasks forwards or backwards at random; 30 rounds make a
    # start-order dependence all but certain to show.
    for _ in range(30):
        slots = PrioritySlots(1)
        served: list[int] = []

        async def worker(priority: int, slots: PrioritySlots = slots,
                         served: list[int] = served) -> None:
            async with slots.hold(priority):
                served.append(priority)
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            for priority in (3, 50, 7, 0, 20):
                nursery.start_soon(worker, priority)
        assert served == [50, 20, 7, 3, 0]


async def test_never_more_holders_than_slots(autojump_clock: trio.testing.MockClock) -> None:
    slots = PrioritySlots(3)
    holding = peak = 0

    async def worker(priority: int) -> None:
        nonlocal holding, peak
        async with slots.hold(priority):
            holding += 1
            peak = max(peak, holding)
            await trio.sleep(1)
            holding -= 1

    async with trio.open_nursery() as nursery:
        for i in range(10):
            nursery.start_soon(worker, i % 4)
    assert peak == 3
    assert trio.current_time() == pytest.approx(4.0)  # ceil(10 / 3) rounds of 1 s


async def test_cancelled_waiters_give_up_their_place(
        autojump_clock: trio.testing.MockClock) -> None:
    slots = PrioritySlots(1)
    order: list[str] = []

    async def worker(name: str, priority: int) -> None:
        async with slots.hold(priority):
            order.append(name)
            await trio.sleep(1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(worker, "first", 0)
        await trio.sleep(0.1)
        cancel_me = trio.CancelScope()

        async def cancelled_waiter() -> None:
            with cancel_me:
                await worker("cancelled", 100)

        nursery.start_soon(cancelled_waiter)
        nursery.start_soon(worker, "last", 1)
        await trio.sleep(0.5)
        cancel_me.cancel()  # the best-placed waiter leaves the queue before its turn
    assert order == ["first", "last"]
    # Every slot came back: one more holder gets in at once.
    with trio.move_on_after(0.01) as scope:
        async with slots.hold():
            pass
    assert not scope.cancelled_caught


async def test_a_slot_granted_to_a_cancelled_task_is_passed_on() -> None:
    slots = PrioritySlots(1)
    got: list[str] = []
    holder_done = trio.Event()

    async def holder() -> None:
        async with slots.hold():
            await holder_done.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder)
        await trio.testing.wait_all_tasks_blocked()
        scope = trio.CancelScope()

        async def unlucky() -> None:
            with scope:
                async with slots.hold(10):
                    got.append("unlucky")

        async def patient() -> None:
            async with slots.hold(1):
                got.append("patient")

        nursery.start_soon(unlucky)
        nursery.start_soon(patient)
        await trio.testing.wait_all_tasks_blocked()
        # Release and cancel in the same step: the slot is granted to "unlucky" while its
        # cancellation is pending; it must reach "patient" rather than vanish.
        holder_done.set()
        scope.cancel()
    assert "patient" in got


async def test_an_explicit_order_breaks_ties_whatever_order_tasks_arrive_in() -> None:
    # The scan passes each account's place in the sorted account list: accounts started in
    # one batch reach acquire in an order trio leaves open.
    for _ in range(30):
        slots = PrioritySlots(1)
        served: list[str] = []

        async def worker(name: str, priority: int, order: int, slots: PrioritySlots = slots,
                         served: list[str] = served) -> None:
            async with slots.hold(priority, order):
                served.append(name)
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            for name, priority, order in (("d", 0, 4), ("a", 0, 0), ("x", 9, 7), ("c", 0, 3),
                                          ("b", 0, 1)):
                nursery.start_soon(worker, name, priority, order)
        assert served == ["x", "a", "b", "c", "d"]


class _Steps(trio.abc.Instrument):
    """Counts the scheduler steps of every task but the test's own."""

    def __init__(self) -> None:
        self.steps = 0
        self.test_task = trio.lowlevel.current_task()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is not self.test_task:
            self.steps += 1


async def test_acquire_yields_once_whether_a_slot_is_free_or_not() -> None:
    # Each scheduler step costs CPU on every account-region of a scan: a free slot is
    # taken after the one checkpoint that lets batch-mates queue, a full one waits once.
    slots = PrioritySlots(1)
    steps = _Steps()

    async def take() -> None:
        await slots.acquire()

    async with trio.open_nursery() as nursery:
        trio.lowlevel.add_instrument(steps)
        nursery.start_soon(take)  # free: one checkpoint, then granted
        await trio.testing.wait_all_tasks_blocked()
        assert steps.steps == 2  # its first step and the one after its checkpoint
        steps.steps = 0
        nursery.start_soon(take)  # full: queues and waits
        await trio.testing.wait_all_tasks_blocked()
        assert steps.steps == 1
        steps.steps = 0
        slots.release()  # hands the slot to the waiter
        await trio.testing.wait_all_tasks_blocked()
        trio.lowlevel.remove_instrument(steps)
        assert steps.steps == 1
