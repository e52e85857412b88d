"""Client CPU per request of the two HTTP transports, side by side in one run.

Not a test. One command::

    python bench/transport_bench.py [--requests 3000] [--concurrency 32] [--rounds 3]

Starts ``ekstrio sim serve --server h11`` as its own process (its CPU is not the client's),
then in THIS process sends the same portal ListAccounts GETs (a real ~3 KB JSON page) through
``make_http_client`` with the lean transport and with httpx2's own, alternating, and prints
the client's CPU (user + system) per request of each round and the ratio. Alternating in one
run is the point: the machine is shared, and only figures taken side by side compare.
"""
# ruff: noqa: T201, S101 - a benchmark: it prints its table and asserts what it measured

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

import trio

from ekstrio.aws.http_client import HttpTransportKind, make_http_client
from ekstrio.sim.testing import admin_call


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(kind: HttpTransportKind, url: str, token: str, requests: int,
              concurrency: int) -> tuple[float, float]:
    """(client CPU ms per request, wall s) for ``requests`` GETs, ``concurrency`` at once."""
    headers = {"x-amz-sso_bearer_token": token}
    async with make_http_client(transport=kind) as client:
        await client.get(url, headers=headers)  # connect outside the measurement
        left = requests
        started_cpu, started = cpu(), time.perf_counter()

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                response = await client.get(url, headers=headers)
                assert response.status_code == 200, response.status_code
                response.json()

        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
        return 1000 * (cpu() - started_cpu) / requests, time.perf_counter() - started


@contextlib.contextmanager
def h11_sim() -> Iterator[tuple[str, str]]:
    """A sim of its own process on ``--server h11`` with no quotas: (endpoint, SSO token)."""
    sim = subprocess.Popen([sys.executable, "-m", "ekstrio", "sim", "serve", "--port", "0",
                            "--server", "h11", "--accounts", "40", "--portal-rps", "0",
                            "--eks-rps", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        endpoint = json.loads(sim.stdout.readline())["endpoint"]
        yield endpoint, admin_call(endpoint, "token", {})[1]["accessToken"]
    finally:
        sim.terminate()
        sim.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with h11_sim() as (endpoint, token):
        url = f"{endpoint}/assignment/accounts?max_result=20"
        print(f"{args.requests} GETs x {args.rounds} rounds, {args.concurrency} at once, "
              f"client CPU per request (ms) and wall (s):")
        results: dict[HttpTransportKind, list[float]] = {k: [] for k in HttpTransportKind}
        for round_ in range(1, args.rounds + 1):
            line = [f"round {round_}:"]
            for kind in HttpTransportKind:
                ms, wall = trio.run(run, kind, url, token, args.requests, args.concurrency)
                results[kind].append(ms)
                line.append(f"{kind.value} {ms:.3f} ms ({wall:.1f} s)")
            print("  ".join(line), flush=True)
        best = {k: min(v) for k, v in results.items()}
        print(f"best: lean {best[HttpTransportKind.LEAN]:.3f} ms, httpx2 "
              f"{best[HttpTransportKind.HTTPX2]:.3f} ms; httpx2 / lean = "
              f"{best[HttpTransportKind.HTTPX2] / best[HttpTransportKind.LEAN]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
