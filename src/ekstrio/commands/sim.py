"""``ekstrio sim serve``: run the local AWS organisation emulator until interrupted."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import cyclopts
import trio

if TYPE_CHECKING:
    from ekstrio.sim.options import SimOptions

app = cyclopts.App(name="sim", help="The local AWS emulator (SSO, OIDC, EKS, STS).")


@app.command
def serve(
    *,
    seed: int = 1,
    accounts: int = 12,
    regions: Annotated[str | None, cyclopts.Parameter(
        help="Comma-separated EKS regions (default: every EKS region of the aws partition).")]
    = None,
    clusters: Annotated[int | None, cyclopts.Parameter(
        help="Total clusters (default: 4 per account).")] = None,
    large_lists: Annotated[int | None, cyclopts.Parameter(
        help="Account-regions with more than 100 clusters (default: 1 when there is room).")]
    = None,
    sso_region: str = "us-east-1",
    start_url: str | None = None,
    port: int = 0,
    portal_rps: Annotated[float, cyclopts.Parameter(
        help="Portal quota per bearer token, requests/s (<= 0: none).")] = 20.0,
    eks_rps: Annotated[float, cyclopts.Parameter(
        help="EKS quota per account and region, requests/s (<= 0: none).")] = 10.0,
    latency_ms: float = 0.0,
    jitter_ms: float = 0.0,
    fault_rate: float = 0.0,
    hang_rate: float = 0.0,
    reset_rate: float = 0.0,
    auto_approve: bool = False,
    token_ttl: int = 8 * 3600,
    refresh_ttl: int = 90 * 86400,
    credentials_ttl: int = 3600,
    client_ttl: int = 90 * 86400,
    device_code_ttl: int = 600,
    device_interval: int = 1,
    server: Annotated[str, cyclopts.Parameter(
        help="HTTP front end: hypercorn, or h11 (a lean loop, about 3x less CPU per request).")]
    = "hypercorn",
    dump_org: Annotated[str | None, cyclopts.Parameter(
        help="Write the whole organisation (the ground truth) as JSON to this file.")] = None,
) -> int:
    """Serve SSO OIDC, the SSO portal, EKS and STS on one loopback port.

    The first line on stdout is one JSON object: endpoint, start_url, sso_region and env (the
    AWS_ENDPOINT_URL_* variables to point ekstrio, the AWS CLI or botocore at the sim).
    """
    from ekstrio.sim.options import SimOptions

    options = SimOptions(
        seed=seed, accounts=accounts,
        regions=tuple(regions.split(",")) if regions is not None else None,
        clusters=clusters, large_lists=large_lists, sso_region=sso_region,
        start_url=start_url, port=port, portal_rps=portal_rps, eks_rps=eks_rps,
        latency_ms=latency_ms, jitter_ms=jitter_ms, fault_rate=fault_rate, hang_rate=hang_rate,
        reset_rate=reset_rate, auto_approve=auto_approve, token_ttl=token_ttl,
        refresh_ttl=refresh_ttl, credentials_ttl=credentials_ttl, client_ttl=client_ttl,
        device_code_ttl=device_code_ttl, device_interval=device_interval, server=server,
    ).validated()
    trio.run(_serve, options, dump_org)
    return 0


async def _serve(options: SimOptions, dump_org: str | None) -> None:
    from ekstrio.fileio import atomic_write
    from ekstrio.sim.server import serve_sim

    # Catch the signals before binding, so an early SIGTERM still ends quietly with exit 0.
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            info = await nursery.start(serve_sim, options)
            if dump_org:
                data = json.dumps(info.org.dump(), indent=2) + "\n"
                atomic_write(Path(dump_org), data.encode(), mode=0o644)  # no secrets in it
            sys.stdout.write(json.dumps(info.as_json()) + "\n")
            sys.stdout.flush()
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break
