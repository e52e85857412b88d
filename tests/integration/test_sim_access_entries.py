"""The sim's access-entry APIs, SCP region denies and JSON STS, driven by botocore's own clients
(a peer reading the same service model), compared with the organisation dump."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from ekstrio.sim.testing import SimHandle, run_sim_in_thread

from sim_fixtures import SMALL  # isort: skip

NO_RETRY = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_sim_in_thread(SMALL, eks_rps=0.0) as handle:
        yield handle


def eks(sim: SimHandle, account_id: str, role: str, region: str) -> Any:
    sso = botocore.session.Session().create_client(
        "sso", region_name=sim.sso_region, endpoint_url=sim.endpoint, config=NO_RETRY)
    rc = sso.get_role_credentials(accessToken=sim.issue_token(), accountId=account_id,
                                  roleName=role)["roleCredentials"]
    return botocore.session.Session().create_client(
        "eks", region_name=region, endpoint_url=sim.endpoint, config=NO_RETRY,
        aws_access_key_id=rc["accessKeyId"], aws_secret_access_key=rc["secretAccessKey"],
        aws_session_token=rc["sessionToken"])


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    resp = exc.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]


def clusters(sim: SimHandle, *, reader: bool | None = None,
             modes: tuple[str, ...] = ("API", "API_AND_CONFIG_MAP")
             ) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(account, role, region, cluster access truth) for EKS roles (``reader``: whether the
    role may read access entries)."""
    for acct in sim.org["accounts"]:
        for role in acct["roles"]:
            if not role["eksAccess"] or (reader is not None
                                         and role["accessEntryApis"] is not reader):
                continue
            for region, here in acct["clusterAccess"].items():
                for truth in here.values():
                    if truth["authenticationMode"] in modes:
                        yield acct["accountId"], role["roleName"], region, truth


def test_every_reader_sees_exactly_the_dumped_entries_policies_and_its_own_verdict(
        sim: SimHandle) -> None:
    seen = 0
    for account, role, region, truth in clusters(sim, reader=True):
        client = eks(sim, account, role, region)
        name = truth["accessEntries"][0]["clusterName"]
        listed = client.get_paginator("list_access_entries").paginate(clusterName=name)
        arns = [a for page in listed for a in page["accessEntries"]]
        assert arns == [e["principalArn"] for e in truth["accessEntries"]]
        for entry in truth["accessEntries"]:
            got = client.describe_access_entry(clusterName=name,
                                               principalArn=entry["principalArn"])
            want = {k: v for k, v in entry.items() if k != "associatedAccessPolicies"}
            assert json.loads(json.dumps(got["accessEntry"], default=lambda d: d.timestamp())) \
                == want
            pols = client.list_associated_access_policies(clusterName=name,
                                                          principalArn=entry["principalArn"])
            assert pols["principalArn"] == entry["principalArn"]
            assert [(p["policyArn"], p["accessScope"]) for p in pols["associatedAccessPolicies"]] \
                == [(p["policyArn"], p["accessScope"]) for p in entry["associatedAccessPolicies"]]
        verdict = truth["verdicts"][role]
        assert (verdict["principalArn"] in arns) is (verdict["aws"] == "entry")
        seen += 1
    assert seen >= 5


def test_list_access_entries_pages_with_escaped_tokens_and_filters_by_policy(
        sim: SimHandle) -> None:
    account, role, region, truth = next(clusters(sim, reader=True))
    name = truth["accessEntries"][0]["clusterName"]
    client = eks(sim, account, role, region)
    pages = list(client.get_paginator("list_access_entries").paginate(
        clusterName=name, PaginationConfig={"PageSize": 1}))
    assert len(pages) == len(truth["accessEntries"]) >= 2
    assert all("+" in p["nextToken"] for p in pages[:-1])
    admin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    got = client.list_access_entries(clusterName=name, associatedPolicyArn=admin)
    assert got["accessEntries"] == [
        e["principalArn"] for e in truth["accessEntries"]
        if any(p["policyArn"] == admin for p in e["associatedAccessPolicies"])]
    with pytest.raises(ClientError) as exc:
        client.list_access_entries(clusterName=name, maxResults=101)
    assert code(exc) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as exc:
        client.list_access_entries(clusterName=name, nextToken="bm90IGEgdG9rZW4=")
    assert code(exc) == ("InvalidParameterException", 400)


def test_errors_as_the_model_names_them(sim: SimHandle) -> None:
    account, role, region, truth = next(clusters(sim, reader=True))
    name = truth["accessEntries"][0]["clusterName"]
    client = eks(sim, account, role, region)
    with pytest.raises(ClientError) as exc:
        client.list_access_entries(clusterName="no-such-cluster")
    assert code(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.describe_access_entry(clusterName=name,
                                     principalArn=f"arn:aws:iam::{account}:role/nobody")
    assert code(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.list_associated_access_policies(
            clusterName=name, principalArn=f"arn:aws:iam::{account}:role/nobody")
    assert code(exc) == ("ResourceNotFoundException", 404)
    cm_account, cm_role, cm_region, cm = next(clusters(sim, reader=True, modes=("CONFIG_MAP",)))
    cm_name = next(n for n, t in sim.account(cm_account)["clusterAccess"][cm_region].items()
                   if t is cm)
    with pytest.raises(ClientError) as exc:
        eks(sim, cm_account, cm_role, cm_region).list_access_entries(clusterName=cm_name)
    assert code(exc) == ("InvalidRequestException", 400)
    assert "authentication mode" in exc.value.response["Error"]["Message"]


def test_the_principal_arn_must_be_percent_encoded(sim: SimHandle) -> None:
    """Its slashes unencoded, the path names no operation (what AWS's router does too)."""
    account, role, region, truth = next(clusters(sim, reader=True))
    entry = truth["accessEntries"][0]
    sso = botocore.session.Session().create_client(
        "sso", region_name=sim.sso_region, endpoint_url=sim.endpoint, config=NO_RETRY)
    rc = sso.get_role_credentials(accessToken=sim.issue_token(), accountId=account,
                                  roleName=role)["roleCredentials"]
    url = f"{sim.endpoint}/clusters/{entry['clusterName']}/access-entries/{entry['principalArn']}"
    req = AWSRequest("GET", url)
    SigV4Auth(Credentials(rc["accessKeyId"], rc["secretAccessKey"], rc["sessionToken"]),
              "eks", region).add_auth(req)
    resp = httpx2.get(url, headers=dict(req.headers))
    assert resp.status_code == 404


def test_a_role_denied_the_access_entry_reads_gets_access_denied(sim: SimHandle) -> None:
    account, role, region, truth = next(clusters(sim, reader=False))
    assert truth["verdicts"][role]["aws"] == "denied"
    name = truth["accessEntries"][0]["clusterName"]
    client = eks(sim, account, role, region)
    assert name in client.list_clusters()["clusters"]  # it may still list and describe
    for call in (lambda: client.list_access_entries(clusterName=name),
                 lambda: client.describe_access_entry(
                     clusterName=name, principalArn=truth["verdicts"][role]["principalArn"]),
                 lambda: client.list_associated_access_policies(
                     clusterName=name, principalArn=truth["verdicts"][role]["principalArn"])):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == ("AccessDeniedException", 403)
        assert "AWSReservedSSO_" in exc.value.response["Error"]["Message"]


def test_scp_denied_regions_refuse_every_eks_call_whatever_the_role(
        make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim(accounts=12, regions=("us-east-1", "eu-west-1", "eu-north-1", "ap-south-1"),
                   clusters=10)
    acct = next(a for a in sim.org["accounts"]
                if a["scpDeniedRegions"] and any(r["eksAccess"] for r in a["roles"]))
    region = acct["scpDeniedRegions"][0]
    assert region not in acct["clusters"]  # a region deny also keeps clusters out
    for role in acct["roles"]:
        client = eks(sim, acct["accountId"], role["roleName"], region)
        for call in (client.list_clusters, lambda c=client: c.describe_cluster(name="x"),
                     lambda c=client: c.list_access_entries(clusterName="x")):
            with pytest.raises(ClientError) as exc:
                call()
            assert code(exc) == ("AccessDeniedException", 403)
            assert "explicit deny in a service control policy" in \
                exc.value.response["Error"]["Message"]
    other = next(r for r in sim.org["regions"]
                 if r not in acct["scpDeniedRegions"] and r not in acct["disabledRegions"])
    role = next(r["roleName"] for r in acct["roles"] if r["eksAccess"])
    assert eks(sim, acct["accountId"], role, other).list_clusters()["clusters"] == \
        sim.cluster_names(acct["accountId"], other)


def test_sts_answers_json_when_asked_as_the_authenticator_asks(sim: SimHandle) -> None:
    acct = sim.org["accounts"][0]
    role = acct["roles"][0]
    sso = botocore.session.Session().create_client(
        "sso", region_name=sim.sso_region, endpoint_url=sim.endpoint, config=NO_RETRY)
    rc = sso.get_role_credentials(accessToken=sim.issue_token(), accountId=acct["accountId"],
                                  roleName=role["roleName"])["roleCredentials"]
    url = f"{sim.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15"
    req = AWSRequest("GET", url, headers={"Accept": "application/json"})
    SigV4Auth(Credentials(rc["accessKeyId"], rc["secretAccessKey"], rc["sessionToken"]),
              "sts", "us-east-1").add_auth(req)
    resp = httpx2.get(url, headers=dict(req.headers))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    result = resp.json()["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    assert result["Arn"] == role["assumedRoleArn"]
    assert result["Account"] == acct["accountId"]
    bad = httpx2.get(url, headers={"Accept": "application/json"})
    assert bad.status_code == 403
    assert bad.json()["Error"]["Code"] == "MissingAuthenticationToken"
