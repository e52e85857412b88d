"""``ekstrio sim serve``: run the local AWS organisation emulator until interrupted."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
    regions: str | None = None,
    clusters: int | None = None,
    large_lists: int | None = None,
    sso_region: str = "us-east-1",
    start_url: str | None = None,
    port: int = 0,
    portal_rps: float = 20.0,
    eks_rps: float = 10.0,
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
    server: str = "hypercorn",
    tls: bool = False,
    dump_org: str | None = None,
) -> int:
    """Serve SSO OIDC, the SSO portal, EKS and STS on one loopback port.

    The first line on stdout is one JSON object: endpoint, start_url, sso_region and env (the
    AWS_ENDPOINT_URL_* variables to point ekstrio, the AWS CLI or botocore at the sim, and
    with --tls AWS_CA_BUNDLE).
    SIGINT or SIGTERM stops it (exit 0).

    Parameters
    ----------
    seed
        Seed of the organisation: the same seed gives the same accounts, roles and clusters.
    accounts
        Number of AWS accounts (1 to 100000).
    regions
        Comma-separated EKS regions (default: every EKS region of the aws partition).
    clusters
        Total clusters, spread over accounts and regions (default: 4 per account).
    large_lists
        Account-regions with more than 100 clusters, to exercise paging (default: 1 when
        there is room).
    sso_region
        Region of the emulated IAM Identity Center (its OIDC and portal endpoints).
    start_url
        IAM Identity Center start URL (default: a d-xxxxxxxxxx.awsapps.com URL from the seed).
    port
        TCP port on 127.0.0.1 (0: any free port; the JSON line says which).
    portal_rps
        Portal quota per bearer token, requests/s; beyond it the portal throttles (<= 0: none).
    eks_rps
        EKS quota per account and region, requests/s; beyond it EKS throttles (<= 0: none).
    latency_ms
        Added latency of every answer, in milliseconds.
    jitter_ms
        Random extra latency of up to this many milliseconds.
    fault_rate
        Share of portal and EKS data calls answered with a 500/503 error (0 to 1).
    hang_rate
        Share of those calls that never answer (tests the client's timeouts).
    reset_rate
        Share of those calls whose connection is dropped without an answer.
    auto_approve
        Approve device authorisations at once, without opening the verification page.
    token_ttl
        Lifetime of SSO access tokens, in seconds.
    refresh_ttl
        Lifetime of refresh tokens, in seconds.
    credentials_ttl
        Lifetime of role credentials from GetRoleCredentials, in seconds.
    client_ttl
        Lifetime of OIDC client registrations, in seconds.
    device_code_ttl
        Lifetime of a device authorisation code, in seconds.
    device_interval
        Polling interval the sim asks device-flow clients to keep, in seconds.
    server
        HTTP front end: hypercorn, or h11 (a lean loop, about 3x less CPU per request).
    tls
        Serve the API over HTTPS, as AWS does: a CA of the sim's own signs the certificate,
        and its PEM file (ca_bundle in the JSON line, AWS_CA_BUNDLE in env) lives in a
        temporary directory removed on exit.
    dump_org
        Write the whole organisation (the ground truth) as JSON to this file.
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
        tls=tls,
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
