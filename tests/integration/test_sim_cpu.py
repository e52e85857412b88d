"""How much CPU the sim spends per request (it must not be a benchmark's bottleneck).

The sim runs as its own process, so its CPU seconds (``/_sim/stats``) exclude the client's. The
figure is printed, not asserted tightly: the machine is shared and noisy. Run with ``-s`` to see:

    python -m pytest tests/integration/test_sim_cpu.py -s
"""

from __future__ import annotations

import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ekstrio.sim.testing import run_sim_process

N = 1500  # requests per kind


@pytest.mark.parametrize("server", ["hypercorn", "h11"])
def test_cpu_per_request_is_well_under_a_millisecond(capsys: pytest.CaptureFixture[str],
                                                     server: str) -> None:
    with run_sim_process("--accounts", "4", "--regions", "eu-west-1,us-east-1",
                         "--clusters", "20", "--portal-rps", "0", "--eks-rps", "0",
                         "--server", server) as (_, sim):
        token = sim.issue_token()
        acct = next(a for a in sim.org["accounts"]
                    if sim.eks_role(a["accountId"]) and a["clusters"])
        region, clusters = next(iter(acct["clusters"].items()))
        with httpx2.Client(base_url=sim.endpoint) as http:
            rc = http.get("/federation/credentials",
                          params={"account_id": acct["accountId"],
                                  "role_name": sim.eks_role(acct["accountId"])},
                          headers={"x-amz-sso_bearer_token": token}).json()["roleCredentials"]
            creds = Credentials(rc["accessKeyId"], rc["secretAccessKey"], rc["sessionToken"])
            # Sign before measuring: only the server's CPU is counted anyway, but this keeps
            # the requests back to back.
            signed = []
            for _ in range(N):
                req = AWSRequest("GET", f"{sim.endpoint}/clusters/{clusters[0]['name']}")
                SigV4Auth(creds, "eks", region).add_auth(req)
                signed.append((req.url, dict(req.headers)))
            figures = {}
            for kind in ("portal ListAccounts", "EKS DescribeCluster (SigV4 verified)"):
                before = sim.stats()
                for i in range(N):
                    if kind.startswith("portal"):
                        resp = http.get("/assignment/accounts",
                                        headers={"x-amz-sso_bearer_token": token})
                    else:
                        resp = http.get(signed[i][0], headers=signed[i][1])
                    assert resp.status_code == 200
                after = sim.stats()
                served = after["requests"] - before["requests"] - 1  # minus the stats call
                assert served == N
                figures[kind] = (after["cpu_seconds"] - before["cpu_seconds"]) / served
    with capsys.disabled():
        for kind, seconds in figures.items():
            print(f"\nsim CPU per request ({server}), {kind}: {seconds * 1000:.3f} ms "
                  f"({N} keep-alive requests)")
    # Generous: ~0.5-0.75 ms (hypercorn) and ~0.2-0.3 ms (h11) on the shared 2-core machine,
    # and noisy under load.
    assert all(seconds < 0.005 for seconds in figures.values())
