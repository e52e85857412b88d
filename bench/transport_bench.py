"""Client CPU per request of the two HTTP transports, over plain HTTP and over TLS, side by
side in one run.

Not a test. One command::

    python bench/transport_bench.py [--requests 3000] [--concurrency 32] [--rounds 3]
                                    [--plain-only]

Starts two ``ekstrio sim serve --server h11`` processes (their CPU is not the client's), one
plain and one with ``--tls`` (HTTPS with the sim's own RSA-2048 chain, as AWS serves), then in
THIS process sends the same portal ListAccounts GETs (a real ~3 KB JSON page) through
``make_http_client`` with the lean transport and with httpx2's own, over each, alternating,
and prints the client's CPU (user + system) per request of each round and the ratios. Every
connection is opened (and, over TLS, handshaken) before the measurement starts: the figures
are the steady state of keep-alive connections. Alternating in one run is the point: the
machine is shared, and only figures taken side by side compare.
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
from typing import NamedTuple

import trio

from ekstrio.aws.http_client import HttpTransportKind, make_http_client
from ekstrio.sim.testing import admin_call


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Sim(NamedTuple):
    """A running sim process: its endpoint, a portal token, and (with TLS) its CA file."""

    endpoint: str
    token: str
    ca_bundle: str | None

    @property
    def url(self) -> str:
        return f"{self.endpoint}/assignment/accounts?max_result=20"


async def run(kind: HttpTransportKind, sim: Sim, requests: int,
              concurrency: int) -> tuple[float, float]:
    """(client CPU ms per request, wall s) for ``requests`` GETs, ``concurrency`` at once."""
    headers = {"x-amz-sso_bearer_token": sim.token}
    url = sim.url
    async with make_http_client(transport=kind, ca_bundle=sim.ca_bundle) as client:
        async def connect() -> None:
            assert (await client.get(url, headers=headers)).status_code == 200

        # Open (and handshake) outside the measurement as many connections as it will use.
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(connect)
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
def h11_sim(*, tls: bool = False, latency_ms: float = 0.0) -> Iterator[Sim]:
    """A sim of its own process on ``--server h11`` with no quotas, over HTTPS with ``tls``,
    answering each request after ``latency_ms``."""
    cmd = [sys.executable, "-m", "ekstrio", "sim", "serve", "--port", "0", "--server", "h11",
           "--accounts", "40", "--portal-rps", "0", "--eks-rps", "0",
           "--latency-ms", str(latency_ms)]
    sim = subprocess.Popen([*cmd, "--tls"] if tls else cmd,  # noqa: S603 - our own module
                           stdout=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        info = json.loads(sim.stdout.readline())
        endpoint, ca_bundle = info["endpoint"], info["ca_bundle"]
        token = admin_call(endpoint, "token", {}, ca_bundle=ca_bundle)[1]["accessToken"]
        yield Sim(endpoint, token, ca_bundle)
    finally:
        sim.terminate()
        sim.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain-only", action="store_true", help="no TLS rows")
    args = parser.parse_args()
    lean, httpx2 = HttpTransportKind.LEAN, HttpTransportKind.HTTPX2
    with contextlib.ExitStack() as stack:
        sims = {"plain": stack.enter_context(h11_sim())}
        if not args.plain_only:
            sims["tls"] = stack.enter_context(h11_sim(tls=True))
        print(f"{args.requests} GETs x {args.rounds} rounds, {args.concurrency} at once, "
              f"client CPU per request (ms) and wall (s):")
        results: dict[tuple[HttpTransportKind, str], list[float]] = {}
        for round_ in range(1, args.rounds + 1):
            line = [f"round {round_}:"]
            for scheme, sim in sims.items():
                for kind in HttpTransportKind:
                    ms, wall = trio.run(run, kind, sim, args.requests, args.concurrency)
                    results.setdefault((kind, scheme), []).append(ms)
                    line.append(f"{kind.value} {scheme} {ms:.3f} ms ({wall:.1f} s)")
            print("  ".join(line), flush=True)
        best = {k: min(v) for k, v in results.items()}
        for scheme in sims:
            print(f"best {scheme}: lean {best[lean, scheme]:.3f} ms, httpx2 "
                  f"{best[httpx2, scheme]:.3f} ms; httpx2 / lean = "
                  f"{best[httpx2, scheme] / best[lean, scheme]:.2f}x")
        if "tls" in sims:
            print("TLS - plain: " + ", ".join(
                f"{kind.value} {best[kind, 'tls'] - best[kind, 'plain']:+.3f} ms"
                for kind in HttpTransportKind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
