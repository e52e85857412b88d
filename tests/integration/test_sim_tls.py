"""``ekstrio sim serve --tls``: the API over HTTPS, verified against the CA file the first
stdout line announces (and nothing else), with that file gone once the sim exits."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import trio

from ekstrio.aws import endpoints
from ekstrio.aws.eks import iter_cluster_names
from ekstrio.aws.portal import get_role_credentials
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport, make_http_client
from ekstrio.errors import TransportError
from ekstrio.sim.testing import SimHandle, run_sim_process

REGION = "eu-west-1"
ENDPOINT_VARS = ("AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_EKS",
                 "AWS_ENDPOINT_URL_STS")


def busiest_account(sim: SimHandle) -> tuple[str, str, list[str]]:
    """(account id, EKS role, cluster names in REGION) of the account with most clusters there."""
    account = max((a for a in sim.org["accounts"] if sim.eks_role(a["accountId"])),
                  key=lambda a: len(a["clusters"].get(REGION, [])))
    account_id = account["accountId"]
    return account_id, str(sim.eks_role(account_id)), sim.cluster_names(account_id, REGION)


async def list_clusters(sim: SimHandle, ca_bundle: str | None, account_id: str,
                        role: str) -> list[str]:
    """GetRoleCredentials, then a SigV4-signed ListClusters, through ekstrio's own Transport
    (the lean transport) with ``ca_bundle`` as its only extra trust."""
    t = Transport(make_http_client(ca_bundle=ca_bundle), limiter=trio.CapacityLimiter(4),
                  rates=RateLimits(default_rate=float("inf")),
                  policy=CallPolicy(call_timeout=10, attempts=1), stats=CallStats())
    async with t.client:
        portal = endpoints.resolve("sso", sim.sso_region, env=sim.env)
        creds = await get_role_credentials(t, portal, sim.issue_token(), account_id, role)
        names: list[str] = []
        eks = endpoints.resolve("eks", REGION, env=sim.env)
        async for page in iter_cluster_names(t, eks, creds, account_id=account_id,
                                             region=REGION):
            names += page
        return names


@pytest.mark.parametrize("server", ["h11", "hypercorn"])
def test_tls_sim_answers_signed_calls_with_the_announced_ca_and_only_with_it(
        server: str) -> None:
    with run_sim_process("--tls", "--server", server, "--accounts", "3", "--regions", REGION,
                         "--clusters", "12", "--portal-rps", "0", "--eks-rps", "0") as (proc, sim):
        ca_bundle = sim.info["ca_bundle"]
        assert sim.endpoint.startswith("https://127.0.0.1:")
        assert {k: sim.env[k] for k in ENDPOINT_VARS} == dict.fromkeys(ENDPOINT_VARS,
                                                                       sim.endpoint)
        assert sim.env["AWS_CA_BUNDLE"] == ca_bundle
        assert Path(ca_bundle).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----\n")
        account_id, role, truth = busiest_account(sim)
        assert truth

        assert trio.run(list_clusters, sim, ca_bundle, account_id, role) == sorted(truth)
        # The same call trusting only the system's CAs cannot get past the handshake.
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            trio.run(list_clusters, sim, None, account_id, role)
        # The refused call never reached the API: one GetRoleCredentials, one ListClusters page.
        by_api = sim.stats()["by_api"]
        assert (by_api.get("portal"), by_api.get("eks")) == (1, 1)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    assert not Path(ca_bundle).parent.exists()  # the sim removed its CA directory on exit


def test_plain_sim_announces_no_ca() -> None:
    with run_sim_process("--accounts", "1", "--regions", REGION) as (_, sim):
        assert sim.endpoint.startswith("http://127.0.0.1:")
        assert sim.info["ca_bundle"] is None
        assert "AWS_CA_BUNDLE" not in sim.env
