"""Client CPU per call, layer by layer: the lean transport alone, the httpx2 client over it, and
the whole ``Transport.call`` (pacing, limiter, timeout, signing, answer parsing), over plain
HTTP and over TLS side by side.

Not a test. One command::

    python bench/call_layers_bench.py [--calls 2000] [--concurrency 32] [--rounds 2]
                                      [--plain-only] [--latency-ms 0]

Starts two ``ekstrio sim serve --server h11`` processes (their CPU is not the client's), one
plain and one with ``--tls`` (HTTPS with the sim's own RSA-2048 chain, as AWS serves), and sends
the same portal ListAccounts GET (a real ~3 KB JSON page) through each layer in THIS process,
``--concurrency`` at once, and prints the client CPU (user + system) per call of each round, the
best round, and the median of each round's TLS - plain difference. A layer's plain and TLS rows
run back to back (plain first in odd rounds, TLS first in even ones), so that the shared
machine's drift hits both alike. Every connection is opened (and handshaken) before a row is
timed, so the rows are the steady state of keep-alive connections, except "new connection per
call" (a lean transport that keeps no idle connection: a TCP connect, and over TLS a handshake,
on every call; ``--calls`` / 4 of them).
After each timed row an untimed pass of the same layer (at most 500 calls) counts, per call,
trio task steps (an instrument) and function calls (``sys.setprofile``: Python and C calls and
coroutine resumptions), the one measure of the client's work that the machine's load cannot
blur; counting is kept out of the timing because it costs far more than what it counts. Run it
against two commits side by side by putting each one's ``src`` first on ``PYTHONPATH`` in
turn: only figures taken in one sitting compare.
"""
# ruff: noqa: T201 - a benchmark: printing its table is its job

from __future__ import annotations

import argparse
import contextlib
import math
import resource
import statistics
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx2
import trio
from transport_bench import Sim, h11_sim

from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.http_client import make_http_client, read_capped, ssl_context
from ekstrio.aws.lean_http import LeanTransport
from ekstrio.aws.portal import list_accounts_request
from ekstrio.aws.sigv4_auth import SigV4Auth
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport
from ekstrio.errors import EkstrioError
from ekstrio.model import RoleCredentials

Call = Callable[[], Awaitable[None]]
LEAN, CLIENT, CALL, ERROR, FRESH = ("lean transport alone", "httpx2 client + lean",
                                    "Transport.call, SigV4", "Transport.call, AWS error",
                                    "lean, new connection per call")
#: The layers also measured over TLS: the transport (where TLS lives) and the whole call.
TLS_LAYERS = (LEAN, CALL, FRESH)
ALL_LAYERS = (LEAN, CLIENT, CALL, ERROR, FRESH)
STEP_CALLS = 500  # calls of the untimed pass that counts scheduler work


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Steps(trio.abc.Instrument):
    """Counts task steps: each one is a trip through trio's scheduler."""

    def __init__(self) -> None:
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1


@dataclass(frozen=True)
class Figure:
    ms: float  # client CPU per call
    steps: float  # trio task steps per call
    functions: float  # Python and C function calls (and coroutine resumptions) per call


async def _drive(one: Call, calls: int, concurrency: int) -> None:
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    async with trio.open_nursery() as nursery:
        for _ in range(min(concurrency, calls)):
            nursery.start_soon(worker)


async def measure(one: Call, calls: int, concurrency: int) -> Figure:
    # Open every connection the run will use before timing it: concurrency calls at once.
    await _drive(one, concurrency, concurrency)
    started = cpu()
    await _drive(one, calls, concurrency)
    ms = 1000 * (cpu() - started) / calls
    # Untimed: the counters cost far more than what they count. Function calls are the one
    # measure of the client's work that the shared machine's load cannot blur.
    counted = min(calls, STEP_CALLS)
    steps, functions = _Steps(), 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal functions
        if event in ("call", "c_call"):
            functions += 1

    trio.lowlevel.add_instrument(steps)
    sys.setprofile(profile)  # this thread only: the one trio runs every task on
    try:
        await _drive(one, counted, concurrency)
    finally:
        sys.setprofile(None)
        trio.lowlevel.remove_instrument(steps)
    return Figure(ms, steps.steps / counted, functions / counted)


@contextlib.asynccontextmanager
async def layers_of(sim: Sim, calls: int) -> AsyncIterator[dict[str, tuple[Call, int]]]:
    """Each layer's one call against ``sim``, and how many calls of it to time."""
    url = sim.url
    headers = [("x-amz-sso_bearer_token", sim.token)]
    creds = RoleCredentials("ASIABENCHMARKKEY0000", "secret" * 7, "token" * 80,
                            datetime.now(UTC) + timedelta(hours=1))
    auth = SigV4Auth(creds, "eks", "us-east-1")
    async with make_http_client(ca_bundle=sim.ca_bundle) as client, \
            LeanTransport(ssl_context(sim.ca_bundle), max_idle=0) as fresh:
        transport = client._transport  # the lean transport under the client
        call = Transport(client, limiter=trio.CapacityLimiter(64),
                         rates=RateLimits(default_rate=math.inf), policy=CallPolicy(),
                         stats=CallStats())
        where = Endpoint(url=sim.endpoint, signing_region="us-east-1", partition="aws")
        good, bad = list_accounts_request(sim.token), list_accounts_request("not-a-token")

        async def lean() -> None:
            response = await transport.handle_async_request(
                httpx2.Request("GET", url, headers=headers))
            await response.aread()
            await response.aclose()

        async def new_connection() -> None:
            response = await fresh.handle_async_request(
                httpx2.Request("GET", url, headers=headers))
            await response.aread()
            await response.aclose()

        async def client_send() -> None:
            response = await client.send(client.build_request("GET", url, headers=headers),
                                         stream=True)
            await read_capped(response, service="sso")
            await response.aclose()

        async def transport_call() -> None:
            await call.call(where, good, service="sso", scope=("portal", "x"), auth=auth)

        async def transport_error() -> None:
            with contextlib.suppress(EkstrioError):
                await call.call(where, bad, service="sso", scope=("portal", "x"), auth=auth)

        yield {LEAN: (lean, calls), CLIENT: (client_send, calls), CALL: (transport_call, calls),
               ERROR: (transport_error, calls), FRESH: (new_connection, max(1, calls // 4))}


async def one_round(sims: dict[str, tuple[Sim, tuple[str, ...]]], calls: int, concurrency: int,
                    flip: bool) -> dict[str, dict[str, Figure]]:
    """Every layer over every sim; plain and TLS of one layer back to back (in the order
    ``flip`` says), so that the machine's drift hits both alike."""
    figures: dict[str, dict[str, Figure]] = {}
    async with contextlib.AsyncExitStack() as stack:
        calls_of = {scheme: await stack.enter_async_context(layers_of(sim, calls))
                    for scheme, (sim, _) in sims.items()}
        order = list(reversed(sims)) if flip else list(sims)
        for layer in ALL_LAYERS:
            for scheme in order:
                if layer in sims[scheme][1]:
                    one, n = calls_of[scheme][layer]
                    figures.setdefault(layer, {})[scheme] = await measure(one, n, concurrency)
    return figures


def _cell(figure: Figure | None) -> str:
    if figure is None:
        return f"{'':>26}"
    return f"{figure.ms:6.3f} ms {figure.steps:4.1f} st {figure.functions:5.0f} fn"


def _table(title: str, figures: dict[str, dict[str, Figure]]) -> None:
    """One line per layer: plain, TLS (where measured) and TLS - plain."""
    print(f"{title:<31}{'plain':<26}  {'tls':<26}  tls - plain")
    for layer, by_scheme in figures.items():
        plain, tls = by_scheme.get("plain"), by_scheme.get("tls")
        delta = (f"{tls.ms - plain.ms:+.3f} ms {tls.steps - plain.steps:+.1f} st "
                 f"{tls.functions - plain.functions:+.0f} fn" if plain and tls else "")
        print(f"  {layer:<29}{_cell(plain)}  {_cell(tls)}  {delta}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--plain-only", action="store_true", help="no TLS rows")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="the sim answers each request after this long (a scan's sim: 50)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        sims: dict[str, tuple[Sim, tuple[str, ...]]] = {
            "plain": (stack.enter_context(h11_sim(latency_ms=args.latency_ms)), ALL_LAYERS)}
        if not args.plain_only:
            sims["tls"] = (stack.enter_context(h11_sim(tls=True, latency_ms=args.latency_ms)),
                           TLS_LAYERS)
        print(f"{args.calls} calls x {args.rounds} rounds, {args.concurrency} at once, answers "
              f"after {args.latency_ms:g} ms; per call: client CPU (ms), trio task steps (st), "
              f"function calls (fn)")
        best: dict[str, dict[str, Figure]] = {}
        differences: dict[str, list[float]] = {}  # per layer, TLS - plain ms of each round
        for number in range(1, args.rounds + 1):
            figures = trio.run(one_round, sims, args.calls, args.concurrency, number % 2 == 0)
            for layer, by_scheme in figures.items():
                for scheme, figure in by_scheme.items():
                    kept = best.setdefault(layer, {}).get(scheme)
                    if kept is None or figure.ms < kept.ms:
                        best[layer][scheme] = figure
                if len(by_scheme) == 2:
                    differences.setdefault(layer, []).append(
                        by_scheme["tls"].ms - by_scheme["plain"].ms)
            _table(f"round {number}", figures)
            sys.stdout.flush()
        _table("best", best)
        if differences:
            # The best plain and the best TLS figure may come from different rounds; the
            # difference measured back to back within each round is the fairer estimate.
            print("tls - plain, median of the rounds' back-to-back differences: " + ", ".join(
                f"{layer} {statistics.median(ms):+.3f} ms" for layer, ms in differences.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
