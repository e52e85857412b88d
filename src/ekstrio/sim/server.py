"""Serve the sim: hypercorn's trio worker (or the lean h11 loop) on 127.0.0.1, one port for all,
over plain HTTP or (``SimOptions.tls``) HTTPS with a CA of its own (see :mod:`ekstrio.sim.api_tls`).

:func:`serve_sim` is the in-process API: ``info = await nursery.start(serve_sim, options)`` binds,
reports a :class:`SimInfo` (endpoint, start URL, env) and serves until cancelled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from ekstrio.sim.api_tls import ApiTls, api_tls
from ekstrio.sim.app import SimApp
from ekstrio.sim.kube_api import KubeApp
from ekstrio.sim.kube_site import attach, make_tls, refusing_port
from ekstrio.sim.lean import serve_h11
from ekstrio.sim.options import SimOptions
from ekstrio.sim.org import Organisation, generate
from ekstrio.sim.state import SimState

log = logging.getLogger("ekstrio.sim")


@dataclass(frozen=True)
class SimInfo:
    """Where a running sim listens and how to point AWS tools at it."""

    endpoint: str
    start_url: str
    sso_region: str
    env: dict[str, str] = field(hash=False)
    accounts: int
    clusters: int
    regions: tuple[str, ...]
    seed: int
    org: Organisation = field(hash=False, repr=False, compare=False)
    kube_endpoint: str = ""  # https://127.0.0.1:PORT, every public cluster endpoint's root
    ca_bundle: str = ""  # with TLS: the PEM file of the CA that signed the API's certificate

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "start_url": self.start_url,
            "sso_region": self.sso_region,
            "env": dict(self.env),
            "accounts": self.accounts,
            "clusters": self.clusters,
            "regions": list(self.regions),
            "seed": self.seed,
            "admin": f"{self.endpoint}/_sim/",
            "kube_endpoint": self.kube_endpoint,
            "ca_bundle": self.ca_bundle or None,
            "aws_config": aws_config_snippet(self),
        }


def sim_env(endpoint: str, ca_bundle: str = "") -> dict[str, str]:
    """The ``AWS_ENDPOINT_URL_*`` variables that send SSO, OIDC, EKS and STS calls to the sim,
    and over TLS ``AWS_CA_BUNDLE`` (read by ekstrio, botocore and the AWS CLI alike)."""
    env = {
        "AWS_ENDPOINT_URL_SSO": endpoint,
        "AWS_ENDPOINT_URL_SSO_OIDC": endpoint,
        "AWS_ENDPOINT_URL_EKS": endpoint,
        "AWS_ENDPOINT_URL_STS": endpoint,
    }
    if ca_bundle:
        env["AWS_CA_BUNDLE"] = ca_bundle
    return env


def aws_config_snippet(info: SimInfo) -> str:
    return (f"[sso-session sim]\nsso_start_url = {info.start_url}\n"
            f"sso_region = {info.sso_region}\nsso_registration_scopes = sso:account:access\n")


def hypercorn_config(options: SimOptions, tls: ApiTls | None = None) -> Config:
    config = Config()
    if tls is not None:
        config.certfile, config.keyfile = str(tls.cert_file), str(tls.key_file)
        config.alpn_protocols = ["http/1.1"]  # as the h11 loop: one protocol to compare
    config.bind = [f"{options.host}:{options.port}"]
    config.accesslog = None  # an access log line per request would cost more than the request
    config.errorlog = log  # hypercorn's errors go to our logger (warnings+ reach stderr)
    config.backlog = 4096  # hundreds of clients connect at once in the concurrency tests
    config.keep_alive_timeout = 75.0  # keep pooled client connections (AWS keeps them ~60 s+)
    config.graceful_timeout = 0.5  # on shutdown, do not wait for hung (fault-injected) calls
    config.include_server_header = False
    return config


@contextlib.contextmanager
def _maybe_tls(options: SimOptions) -> Iterator[ApiTls | None]:
    if not options.tls:
        yield None
        return
    with api_tls(options.host) as tls:  # its files are removed when serving ends
        yield tls


async def serve_sim(options: SimOptions, *,
                    task_status: trio.TaskStatus[SimInfo] = trio.TASK_STATUS_IGNORED) -> None:
    """Generate the organisation, bind, report a :class:`SimInfo`, then serve until cancelled."""
    options = options.validated()
    org = generate(options)
    state = SimState(options, org)
    app = SimApp(state)
    tls = make_tls(options.host)
    # Held open while serving: private cluster endpoints point here and are refused.
    with refusing_port(options.host) as refused, _maybe_tls(options) as api:
        async with trio.open_nursery() as nursery:
            # The clusters' listener first: DescribeCluster names its port from the first call.
            kube: str = await nursery.start(serve_h11, KubeApp(state), options.host, 0,
                                            tls.server_context)
            attach(org, base_url=kube,
                   refused_url=f"https://{options.host}:{refused.getsockname()[1]}", tls=tls)
            if options.server == "h11":
                endpoint: str = await nursery.start(
                    serve_h11, app, options.host, options.port,
                    api.server_context if api else None)
            else:
                # SimApp is a plain ASGI 3 callable; hypercorn's stub types want TypedDict scopes.
                server = partial(serve, app,  # type: ignore[arg-type]
                                 hypercorn_config(options, api), mode="asgi")
                binds: list[str] = await nursery.start(server)
                scheme = "https://" if api else "http://"
                endpoint = next(b for b in binds if b.startswith(scheme))
            ca_bundle = str(api.ca_file) if api else ""
            state.endpoint = endpoint
            task_status.started(SimInfo(
                endpoint=endpoint,
                start_url=org.start_url,
                sso_region=org.sso_region,
                env=sim_env(endpoint, ca_bundle),
                accounts=len(org.accounts),
                clusters=org.cluster_count,
                regions=org.regions,
                seed=org.seed,
                org=org,
                kube_endpoint=kube,
                ca_bundle=ca_bundle,
            ))
