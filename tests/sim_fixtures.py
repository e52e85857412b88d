"""pytest fixtures for the local AWS emulator (``ekstrio.sim``). Loaded suite-wide by conftest.

Fixture API (for every test that needs AWS over real HTTP on 127.0.0.1):

``sim`` (module scope) -> :class:`ekstrio.sim.testing.SimHandle`
    A small organisation (seed 7, 4 accounts, regions us-east-1, eu-west-1, ap-east-1 (opt-in,
    off in some accounts), 24 clusters, no latency, no faults, ``auto_approve=True``, default
    quotas: portal 20 req/s per token, EKS 10 req/s per account+region). Shared by a module's
    tests: do not rely on its counters, and mint your own token with ``sim.issue_token()``.

``make_sim(**options)`` (function scope) -> SimHandle
    A factory: each call starts one more sim with ``SimOptions(**{small defaults, **options})``
    (any :class:`ekstrio.sim.options.SimOptions` field: ``accounts``, ``regions`` (tuple),
    ``clusters``, ``large_lists``, ``portal_rps``, ``eks_rps`` (<= 0 disables), ``latency_ms``,
    ``jitter_ms``, ``fault_rate``, ``hang_rate``, ``reset_rate``, ``auto_approve``,
    ``token_ttl``, ``credentials_ttl``, ``device_interval``, ``server`` ("hypercorn" or the
    leaner "h11"), ...). All are stopped at test end.

SimHandle:
    ``endpoint`` ("http://127.0.0.1:PORT"), ``start_url``, ``sso_region``,
    ``env`` ({AWS_ENDPOINT_URL_SSO, _SSO_OIDC, _EKS, _STS: endpoint}; e.g.
    ``for k, v in sim.env.items(): monkeypatch.setenv(k, v)``),
    ``org`` (the ground truth: ``org["accounts"][i]`` has ``accountId``, ``accountName``,
    ``emailAddress``, ``roles`` [{roleName, eksAccess, accessEntryApis, iamRoleName,
    iamRoleArn, assumedRoleArn}], ``disabledRegions``, ``scpDeniedRegions``, ``clusters``
    {region: [DescribeCluster dicts]}, ``clusterAccess`` {region: {name: {authenticationMode,
    endpointAccess, caMatches, accessEntries, awsAuth, verdicts {permission set: {aws, live,
    ...}}}}}; see docs/sim.md "Cluster access"),
    ``issue_token(expires_in=None) -> str`` (portal access token, as if signed in),
    ``verify_eks_token(token, cluster_name) -> dict`` ({"ok": True, "account_id", "arn",
    "role_name", "region", ...} or {"ok": False, "kind", "error"}),
    ``approve(user_code)`` / ``deny(user_code)`` (device flow), ``stats()`` (requests, by_api,
    by_status, throttled, cpu_seconds, ...), and helpers ``account(id)``,
    ``cluster_names(account_id, region)``, ``eks_role(account_id)``.

``sim_for_module(**options)`` -> a module-scoped ``sim`` fixture of the module's own
    organisation, ``SimOptions(**options)`` (SimOptions' defaults for the rest, not SMALL's)::

        sim = sim_for_module(seed=11, accounts=6, regions=REGIONS, large_lists=0)

``async with scan_api(sim, preset, cold=True) as api``: the real ScanApi
    (``scan_aws.open_scan``) against that sim, with a token it issued; ``cold``: no list or
    credential cache. ``scan_report(api, sim, **request)``: one ``run_scan`` over it, every
    region of the sim unless ``regions=`` says otherwise.

For CLI-level tests: ``ekstrio.sim.testing.run_sim_process(*args)`` starts
``ekstrio sim serve --port 0 ARGS`` and yields ``(process, SimHandle)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from ekstrio.model import SsoSession
from ekstrio.scan import ScanRequest, run_scan
from ekstrio.scan_aws import AwsScanApi, open_scan
from ekstrio.scan_records import ScanCollector, ScanReport
from ekstrio.settings import Preset
from ekstrio.sim.options import SimOptions
from ekstrio.sim.testing import SimHandle, run_sim_in_thread

SMALL = SimOptions(
    seed=7,
    accounts=4,
    regions=("us-east-1", "eu-west-1", "ap-east-1"),
    clusters=24,
    large_lists=0,
    auto_approve=True,
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_sim_in_thread(SMALL) as handle:
        yield handle


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimHandle]]:
    with contextlib.ExitStack() as stack:

        def factory(**options: Any) -> SimHandle:
            return stack.enter_context(run_sim_in_thread(SMALL, **options))

        yield factory


def sim_for_module(**options: Any) -> Any:
    """A module-scoped ``sim`` fixture over ``SimOptions(**options)``; assign it to ``sim``."""

    @pytest.fixture(scope="module", name="sim")
    def sim() -> Iterator[SimHandle]:
        with run_sim_in_thread(SimOptions(**options)) as handle:
            yield handle

    return sim


@contextlib.asynccontextmanager
async def scan_api(sim: SimHandle, preset: Preset, *, cold: bool = True
                   ) -> AsyncIterator[AwsScanApi]:
    """The real ScanApi against ``sim``, signed in with a token the sim issued."""
    token = sim.issue_token()

    async def access_token() -> str:
        return token

    async with open_scan(SsoSession(sim.start_url, sim.sso_region), preset,
                         access_token=lambda _t: access_token, env=sim.env, refresh=cold,
                         use_list_cache=not cold) as (api, _):
        yield api


async def scan_report(api: AwsScanApi, sim: SimHandle, **request: Any) -> ScanReport:
    """One scan over ``api``: every region of ``sim`` unless ``regions=`` says otherwise."""
    regions = tuple(request.pop("regions", sim.org["regions"]))
    return await run_scan(ScanRequest(regions=regions, **request), api,
                          collector=ScanCollector(stats=api.t.stats))
