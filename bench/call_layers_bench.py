"""Client CPU per call, layer by layer: the lean transport alone, the httpx2 client over it, and
the whole ``Transport.call`` (pacing, limiter, timeout, signing, answer parsing).

Not a test. One command::

    python bench/call_layers_bench.py [--calls 2000] [--concurrency 32] [--rounds 2]

Starts ``ekstrio sim serve --server h11`` as its own process (its CPU is not the client's) and
sends the same portal ListAccounts GET (a real ~3 KB JSON page) through each layer in THIS
process, ``--concurrency`` at once, and prints the client CPU (user + system) per call of each
round and the best round. Run it against two commits side by side by putting each one's
``src`` first on ``PYTHONPATH`` in turn: only figures taken in one sitting compare.
"""
# ruff: noqa: T201 - a benchmark: printing its table is its job

from __future__ import annotations

import argparse
import contextlib
import math
import resource
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx2
import trio
from transport_bench import h11_sim

from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.http_client import make_http_client, read_capped
from ekstrio.aws.portal import list_accounts_request
from ekstrio.aws.sigv4_auth import SigV4Auth
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport
from ekstrio.errors import EkstrioError
from ekstrio.model import RoleCredentials

Call = Callable[[], Awaitable[None]]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def per_call_ms(one: Call, calls: int, concurrency: int) -> float:
    await one()  # connect outside the measurement
    left = calls
    started = cpu()

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    return 1000 * (cpu() - started) / calls


async def one_round(endpoint: str, token: str, calls: int,
                    concurrency: int) -> dict[str, float]:
    url = f"{endpoint}/assignment/accounts?max_result=20"
    headers = [("x-amz-sso_bearer_token", token)]
    creds = RoleCredentials("ASIABENCHMARKKEY0000", "secret" * 7, "token" * 80,
                            datetime.now(UTC) + timedelta(hours=1))
    auth = SigV4Auth(creds, "eks", "us-east-1")
    figures: dict[str, float] = {}
    async with make_http_client() as client:
        transport = client._transport  # the lean transport under the client
        call = Transport(client, limiter=trio.CapacityLimiter(64),
                         rates=RateLimits(default_rate=math.inf), policy=CallPolicy(),
                         stats=CallStats())
        where = Endpoint(url=endpoint, signing_region="us-east-1", partition="aws")
        good, bad = list_accounts_request(token), list_accounts_request("not-a-token")

        async def lean() -> None:
            response = await transport.handle_async_request(
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

        for name, one in (("lean transport alone", lean), ("httpx2 client + lean", client_send),
                          ("Transport.call, SigV4", transport_call),
                          ("Transport.call, AWS error", transport_error)):
            figures[name] = await per_call_ms(one, calls, concurrency)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with h11_sim() as (endpoint, token):
        best: dict[str, float] = {}
        print(f"{args.calls} calls x {args.rounds} rounds, {args.concurrency} at once, "
              "client CPU per call (ms):")
        for number in range(1, args.rounds + 1):
            figures = trio.run(one_round, endpoint, token, args.calls, args.concurrency)
            for name, ms in figures.items():
                best[name] = min(best.get(name, math.inf), ms)
            print(f"round {number}: " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()),
                  flush=True)
        print("best:    " + "  ".join(f"{k} {v:.3f}" for k, v in best.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
