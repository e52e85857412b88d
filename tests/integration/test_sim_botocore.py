"""The sim is a faithful peer: botocore's own clients drive every operation and parse every
answer, error and page; what they read equals the organisation dump (the ground truth)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import botocore.session
import httpx2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ekstrio.sim.testing import SimHandle, run_sim_in_thread

from sim_fixtures import SMALL  # isort: skip
from values import different  # isort: skip

NO_RETRY = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module", params=["hypercorn", "h11"])
def sim(request: pytest.FixtureRequest) -> Iterator[SimHandle]:
    """This module checks both HTTP front ends (``--server``) against botocore."""
    with run_sim_in_thread(SMALL, server=request.param) as handle:
        yield handle
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def client(sim: SimHandle, service: str, region: str | None = None,
           creds: dict[str, str] | None = None) -> Any:
    kwargs: dict[str, Any] = {}
    if creds is not None:
        kwargs = {"aws_access_key_id": creds["accessKeyId"],
                  "aws_secret_access_key": creds["secretAccessKey"],
                  "aws_session_token": creds["sessionToken"]}
    return botocore.session.Session().create_client(
        service, region_name=region or sim.sso_region, endpoint_url=sim.endpoint,
        config=NO_RETRY, **kwargs)


def role_creds(sim: SimHandle, account_id: str, role: str,
               token: str | None = None) -> dict[str, str]:
    sso = client(sim, "sso")
    out = sso.get_role_credentials(accessToken=token or sim.issue_token(),
                                   accountId=account_id, roleName=role)
    return dict(out["roleCredentials"])


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    resp = exc.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]


def eks_account(sim: SimHandle, *, with_clusters: bool = True) -> dict[str, Any]:
    return next(a for a in sim.org["accounts"]
                if any(r["eksAccess"] for r in a["roles"]) and (a["clusters"] or not with_clusters))


# --- SSO OIDC --------------------------------------------------------------------------------

def test_device_flow_with_auto_approve_gives_a_refreshable_token(sim: SimHandle) -> None:
    oidc = client(sim, "sso-oidc")
    reg = oidc.register_client(clientName="botocore-client-sim", clientType="public",
                               scopes=["sso:account:access"])
    assert reg["clientSecretExpiresAt"] > reg["clientIdIssuedAt"]
    dev = oidc.start_device_authorization(clientId=reg["clientId"],
                                          clientSecret=reg["clientSecret"],
                                          startUrl=sim.start_url)
    assert dev["verificationUriComplete"].startswith(sim.endpoint)
    assert dev["userCode"] in dev["verificationUriComplete"]
    tok = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                            grantType=DEVICE, deviceCode=dev["deviceCode"])
    assert tok["tokenType"] == "Bearer"
    assert tok["expiresIn"] == 8 * 3600
    # The token works on the portal ...
    assert client(sim, "sso").list_accounts(accessToken=tok["accessToken"])["accountList"]
    # ... and the refresh token gives a new one.
    new = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                            grantType="refresh_token", refreshToken=tok["refreshToken"])
    assert new["accessToken"] != tok["accessToken"]
    # A device code is single-use.
    with pytest.raises(ClientError) as exc:
        oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                          grantType=DEVICE, deviceCode=dev["deviceCode"])
    assert error_code(exc) == ("InvalidGrantException", 400)


def test_legacy_registration_without_scopes_gets_no_refresh_token(sim: SimHandle) -> None:
    oidc = client(sim, "sso-oidc")
    reg = oidc.register_client(clientName="legacy", clientType="public")
    dev = oidc.start_device_authorization(clientId=reg["clientId"],
                                          clientSecret=reg["clientSecret"],
                                          startUrl=sim.start_url)
    tok = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                            grantType=DEVICE, deviceCode=dev["deviceCode"])
    assert "refreshToken" not in tok


def test_oidc_errors_have_the_error_shape(sim: SimHandle) -> None:
    oidc = client(sim, "sso-oidc")
    reg = oidc.register_client(clientName="x", clientType="public")
    with pytest.raises(ClientError) as exc:
        oidc.start_device_authorization(clientId=reg["clientId"], clientSecret="wrong",
                                        startUrl=sim.start_url)
    assert error_code(exc) == ("InvalidClientException", 401)
    assert exc.value.response["error"] == "invalid_client"
    with pytest.raises(ClientError) as exc:
        oidc.start_device_authorization(clientId=reg["clientId"],
                                        clientSecret=reg["clientSecret"],
                                        startUrl="https://d-0000000000.awsapps.com/start")
    assert error_code(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                          grantType="password")
    assert error_code(exc) == ("UnsupportedGrantTypeException", 400)
    with pytest.raises(ClientError) as exc:
        oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                          grantType="refresh_token", refreshToken="aor-made-up")
    assert error_code(exc) == ("InvalidGrantException", 400)
    with pytest.raises(ClientError) as exc:
        oidc.register_client(clientName="x", clientType="confidential")
    assert error_code(exc) == ("InvalidClientMetadataException", 400)


def _pkce(last: str = "") -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)[:64]
    verifier = verifier[: len(verifier) - len(last)] + last
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


# A verifier ending in "x" once made the "wrong" one (last character set to "x") the right one.
@pytest.mark.parametrize("last", ["", "x", "y"])
def test_authorization_code_with_pkce(sim: SimHandle, last: str) -> None:
    oidc = client(sim, "sso-oidc")
    reg = oidc.register_client(clientName="pkce", clientType="public",
                               grantTypes=["authorization_code", "refresh_token"],
                               redirectUris=["http://127.0.0.1/oauth/callback"],
                               issuerUrl=sim.start_url, scopes=["sso:account:access"])
    assert reg["authorizationEndpoint"] == f"{sim.endpoint}/authorize"
    verifier, challenge = _pkce(last)
    redirect_uri = "http://127.0.0.1:54321/oauth/callback"
    query = urlencode({"response_type": "code", "client_id": reg["clientId"],
                       "redirect_uri": redirect_uri, "state": "st-1",
                       "code_challenge_method": "S256", "scopes": "sso:account:access",
                       "code_challenge": challenge})
    resp = httpx2.get(f"{sim.endpoint}/authorize?{query}", follow_redirects=False)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    got = parse_qs(location.query)
    assert got["state"] == ["st-1"]
    code = got["code"][0]
    secret = reg["clientSecret"]
    # A wrong verifier is refused without burning the code.
    with pytest.raises(ClientError) as exc:
        oidc.create_token(clientId=reg["clientId"], clientSecret=secret,
                          grantType="authorization_code", code=code,
                          redirectUri=redirect_uri, codeVerifier=different(verifier))
    assert error_code(exc) == ("InvalidGrantException", 400)
    tok = oidc.create_token(clientId=reg["clientId"], clientSecret=secret,
                            grantType="authorization_code", code=code,
                            redirectUri=redirect_uri, codeVerifier=verifier)
    assert tok["accessToken"]
    assert tok["refreshToken"]
    with pytest.raises(ClientError) as exc:  # single use
        oidc.create_token(clientId=reg["clientId"], clientSecret=secret,
                          grantType="authorization_code", code=code,
                          redirectUri=redirect_uri, codeVerifier=verifier)
    assert error_code(exc) == ("InvalidGrantException", 400)


def start_device_flow(sim: SimHandle) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """botocore's sso-oidc client, a registered client's ids, and a device authorization."""
    oidc = client(sim, "sso-oidc")
    reg = oidc.register_client(clientName="x", clientType="public")
    ids = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}
    return oidc, ids, oidc.start_device_authorization(startUrl=sim.start_url, **ids)


def test_device_flow_pending_slow_down_approve_and_deny(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim(auto_approve=False, device_interval=5)
    oidc, ids, dev = start_device_flow(sim)
    assert dev["interval"] == 5
    with pytest.raises(ClientError) as exc:
        oidc.create_token(grantType=DEVICE, deviceCode=dev["deviceCode"], **ids)
    assert error_code(exc) == ("AuthorizationPendingException", 400)
    assert exc.value.response["error"] == "authorization_pending"
    with pytest.raises(ClientError) as exc:  # polled again at once: faster than the interval
        oidc.create_token(grantType=DEVICE, deviceCode=dev["deviceCode"], **ids)
    assert error_code(exc) == ("SlowDownException", 400)
    # Opening the verification URL approves the code.
    page = httpx2.get(dev["verificationUriComplete"])
    assert page.status_code == 200
    tok = oidc.create_token(grantType=DEVICE, deviceCode=dev["deviceCode"], **ids)
    assert tok["accessToken"]

    dev2 = oidc.start_device_authorization(startUrl=sim.start_url, **ids)
    assert sim.deny(dev2["userCode"])
    with pytest.raises(ClientError) as exc:
        oidc.create_token(grantType=DEVICE, deviceCode=dev2["deviceCode"], **ids)
    assert error_code(exc) == ("AccessDeniedException", 400)
    assert not sim.approve(dev2["userCode"])  # already decided

    dev3 = oidc.start_device_authorization(startUrl=sim.start_url, **ids)
    assert sim.approve(dev3["userCode"])
    assert oidc.create_token(grantType=DEVICE, deviceCode=dev3["deviceCode"], **ids)


def test_device_code_expires(make_sim: Callable[..., SimHandle]) -> None:
    import time

    sim = make_sim(auto_approve=False, device_code_ttl=1)
    oidc, ids, dev = start_device_flow(sim)
    time.sleep(1.2)
    with pytest.raises(ClientError) as exc:
        oidc.create_token(grantType=DEVICE, deviceCode=dev["deviceCode"], **ids)
    assert error_code(exc) == ("ExpiredTokenException", 400)
    assert exc.value.response["error"] == "expired_token"


# --- SSO portal ------------------------------------------------------------------------------

def test_portal_paginators_return_the_dump(sim: SimHandle) -> None:
    sso = client(sim, "sso")
    token = sim.issue_token()
    pages = list(sso.get_paginator("list_accounts").paginate(
        accessToken=token, PaginationConfig={"PageSize": 3}))
    assert len(pages) == 2  # 4 accounts, 3 per page
    got = [a for p in pages for a in p["accountList"]]
    assert got == [{"accountId": a["accountId"], "accountName": a["accountName"],
                    "emailAddress": a["emailAddress"]} for a in sim.org["accounts"]]
    for acct in sim.org["accounts"]:
        roles = [r for p in sso.get_paginator("list_account_roles").paginate(
            accessToken=token, accountId=acct["accountId"], PaginationConfig={"PageSize": 1})
            for r in p["roleList"]]
        assert roles == [{"roleName": r["roleName"], "accountId": acct["accountId"]}
                         for r in acct["roles"]]


def test_portal_default_page_is_smaller_than_100(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim(accounts=45, clusters=0)
    sso = client(sim, "sso")
    first = sso.list_accounts(accessToken=sim.issue_token())
    assert len(first["accountList"]) == 20
    assert first["nextToken"]


def test_portal_errors(sim: SimHandle) -> None:
    sso = client(sim, "sso")
    token = sim.issue_token()
    with pytest.raises(ClientError) as exc:
        sso.list_accounts(accessToken="not-a-token")
    assert error_code(exc) == ("UnauthorizedException", 401)
    with pytest.raises(ClientError) as exc:
        sso.list_accounts(accessToken=token, maxResults=101)
    assert error_code(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        sso.list_accounts(accessToken=token, nextToken="bm90IGEgdG9rZW4=")
    assert error_code(exc) == ("InvalidRequestException", 400)
    acct = sim.org["accounts"][0]
    with pytest.raises(ClientError) as exc:
        sso.get_role_credentials(accessToken=token, accountId=acct["accountId"],
                                 roleName="NoSuchRole")
    assert error_code(exc) == ("ForbiddenException", 403)


def test_unauthorized_body_is_the_observed_one(sim: SimHandle) -> None:
    resp = httpx2.get(f"{sim.endpoint}/assignment/accounts",
                     headers={"x-amz-sso_bearer_token": "nope"})
    assert resp.status_code == 401
    assert resp.headers["x-amzn-errortype"] == "UnauthorizedException"
    assert resp.json() == {"message": "Session token not found or invalid",
                           "__type": "com.amazonaws.switchboard.portal#UnauthorizedException"}


def test_underscore_bearer_header_survives_the_server(sim: SimHandle) -> None:
    """x-amz-sso_bearer_token has an underscore; hypercorn must hand it to the app intact."""
    token = sim.issue_token()
    ok = httpx2.get(f"{sim.endpoint}/assignment/accounts",
                   headers={"x-amz-sso_bearer_token": token})
    assert ok.status_code == 200
    assert len(ok.json()["accountList"]) == len(sim.org["accounts"])
    # The dashed spelling is a different header: the portal does not accept it.
    dashed = httpx2.get(f"{sim.endpoint}/assignment/accounts",
                       headers={"x-amz-sso-bearer-token": token})
    assert dashed.status_code == 401


def test_logout_revokes_the_token(sim: SimHandle) -> None:
    sso = client(sim, "sso")
    token = sim.issue_token()
    sso.list_accounts(accessToken=token)
    sso.logout(accessToken=token)
    with pytest.raises(ClientError) as exc:
        sso.list_accounts(accessToken=token)
    assert error_code(exc) == ("UnauthorizedException", 401)


def test_expired_portal_token_is_refused(sim: SimHandle) -> None:
    import time

    token = sim.issue_token(expires_in=1)
    sso = client(sim, "sso")
    sso.list_accounts(accessToken=token)
    time.sleep(1.2)
    with pytest.raises(ClientError) as exc:
        sso.list_accounts(accessToken=token)
    assert error_code(exc) == ("UnauthorizedException", 401)


def test_role_credentials_expire_in_milliseconds(sim: SimHandle) -> None:
    import time

    acct = eks_account(sim)
    creds = role_creds(sim, acct["accountId"], acct["roles"][0]["roleName"])
    assert creds["accessKeyId"].startswith("ASIA")
    # epoch milliseconds, about an hour ahead
    assert 3500 < creds["expiration"] / 1000 - time.time() <= 3600


# --- EKS ---------------------------------------------------------------------------------------

def test_list_clusters_paginator_returns_exactly_the_dump(
        make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim(accounts=3, regions=("eu-west-1", "us-west-2"), clusters=160, large_lists=1,
                   eks_rps=0)
    token = sim.issue_token()
    seen_large = False
    for acct in sim.org["accounts"]:
        role = sim.eks_role(acct["accountId"])
        if role is None:
            continue
        creds = role_creds(sim, acct["accountId"], role, token)
        for region in sim.org["regions"]:
            eks = client(sim, "eks", region, creds)
            pages = list(eks.get_paginator("list_clusters").paginate())
            names = [n for p in pages for n in p["clusters"]]
            assert names == sim.cluster_names(acct["accountId"], region)
            if len(names) > 100:
                seen_large = True
                assert len(pages) >= 2  # default page is 100
                small = list(eks.get_paginator("list_clusters").paginate(
                    PaginationConfig={"PageSize": 7}))
                assert [n for p in small for n in p["clusters"]] == names
                assert all("+" in p["nextToken"] and "/" in p["nextToken"]
                           for p in small[:-1])
    assert seen_large


def test_describe_cluster_returns_the_dump(sim: SimHandle) -> None:
    acct = eks_account(sim)
    creds = role_creds(sim, acct["accountId"], sim.eks_role(acct["accountId"]) or "")
    for region, clusters in acct["clusters"].items():
        eks = client(sim, "eks", region, creds)
        for cluster in clusters:
            got = eks.describe_cluster(name=cluster["name"])["cluster"]
            assert got["arn"] == cluster["arn"]
            assert got["status"] == cluster["status"]
            assert got["tags"] == cluster["tags"]
            assert got.get("endpoint") == cluster.get("endpoint")
            assert got["certificateAuthority"].get("data") == \
                cluster["certificateAuthority"].get("data")
            assert got["createdAt"].timestamp() == pytest.approx(cluster["createdAt"])
            if got["status"] == "ACTIVE":
                pem = base64.b64decode(got["certificateAuthority"]["data"]).decode()
                assert pem.startswith("-----BEGIN CERTIFICATE-----\n")


def test_eks_errors(sim: SimHandle) -> None:
    acct = eks_account(sim)
    role = sim.eks_role(acct["accountId"]) or ""
    creds = role_creds(sim, acct["accountId"], role)
    region = next(iter(acct["clusters"]))
    eks = client(sim, "eks", region, creds)
    with pytest.raises(ClientError) as exc:
        eks.describe_cluster(name="no-such-cluster")
    assert error_code(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        eks.list_clusters(nextToken="garbage")
    assert error_code(exc) == ("InvalidParameterException", 400)
    unchecked = botocore.session.Session().create_client(
        "eks", region_name=region, endpoint_url=sim.endpoint,
        config=NO_RETRY.merge(Config(parameter_validation=False)),
        aws_access_key_id=creds["accessKeyId"], aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"])
    for size in (0, 101):
        with pytest.raises(ClientError) as exc:
            unchecked.list_clusters(maxResults=size)
        assert error_code(exc) == ("InvalidParameterException", 400)


def test_wrong_secret_is_refused(sim: SimHandle) -> None:
    acct = eks_account(sim)
    creds = role_creds(sim, acct["accountId"], sim.eks_role(acct["accountId"]) or "")
    bad = dict(creds, secretAccessKey=different(creds["secretAccessKey"]))
    with pytest.raises(ClientError) as exc:
        client(sim, "eks", "eu-west-1", bad).list_clusters()
    assert error_code(exc) == ("InvalidSignatureException", 403)
    unknown = dict(creds, accessKeyId="ASIAUNKNOWNUNKNOWN00")
    with pytest.raises(ClientError) as exc:
        client(sim, "eks", "eu-west-1", unknown).list_clusters()
    assert error_code(exc) == ("UnrecognizedClientException", 403)
    with pytest.raises(ClientError) as exc:
        client(sim, "sts", "eu-west-1", bad).get_caller_identity()
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)


def test_unsigned_eks_call_is_refused(sim: SimHandle) -> None:
    resp = httpx2.get(f"{sim.endpoint}/clusters")
    assert resp.status_code == 403
    assert resp.headers["x-amzn-errortype"].split(":")[0] == "MissingAuthenticationTokenException"


def test_another_accounts_cluster_is_not_found(sim: SimHandle) -> None:
    owner = eks_account(sim)
    region, clusters = next(iter(owner["clusters"].items()))
    other = next(a for a in sim.org["accounts"]
                 if a["accountId"] != owner["accountId"] and any(r["eksAccess"] for r in a["roles"])
                 and not any(c["name"] == clusters[0]["name"]
                             for c in a["clusters"].get(region, [])))
    creds = role_creds(sim, other["accountId"], sim.eks_role(other["accountId"]) or "")
    with pytest.raises(ClientError) as exc:
        client(sim, "eks", region, creds).describe_cluster(name=clusters[0]["name"])
    assert error_code(exc) == ("ResourceNotFoundException", 404)


def test_role_without_eks_permission_is_denied(sim: SimHandle) -> None:
    acct, role = next((a, r["roleName"]) for a in sim.org["accounts"] for r in a["roles"]
                      if not r["eksAccess"])
    creds = role_creds(sim, acct["accountId"], role)
    region = next(r for r in sim.org["regions"] if r not in acct["disabledRegions"])
    with pytest.raises(ClientError) as exc:
        client(sim, "eks", region, creds).list_clusters()
    assert error_code(exc) == ("AccessDeniedException", 403)
    assert f"assumed-role/AWSReservedSSO_{role}_" in exc.value.response["Error"]["Message"]


def test_disabled_region_answers_like_an_opt_in_region_that_is_off(sim: SimHandle) -> None:
    acct = next(a for a in sim.org["accounts"]
                if a["disabledRegions"] and any(r["eksAccess"] for r in a["roles"]))
    creds = role_creds(sim, acct["accountId"], sim.eks_role(acct["accountId"]) or "")
    with pytest.raises(ClientError) as exc:
        client(sim, "eks", acct["disabledRegions"][0], creds).list_clusters()
    assert error_code(exc) == ("UnrecognizedClientException", 403)
    assert exc.value.response["Error"]["Message"] == \
        "The security token included in the request is invalid."


def test_expired_role_credentials_are_refused(make_sim: Callable[..., SimHandle]) -> None:
    import time

    sim = make_sim(credentials_ttl=1)
    acct = eks_account(sim)
    creds = role_creds(sim, acct["accountId"], sim.eks_role(acct["accountId"]) or "")
    eks = client(sim, "eks", "eu-west-1", creds)
    eks.list_clusters()
    time.sleep(1.2)
    with pytest.raises(ClientError) as exc:
        eks.list_clusters()
    assert error_code(exc) == ("ExpiredTokenException", 403)
    with pytest.raises(ClientError) as exc:
        client(sim, "sts", "eu-west-1", creds).get_caller_identity()
    assert error_code(exc) == ("ExpiredToken", 400)


# --- STS -------------------------------------------------------------------------------------

def test_get_caller_identity(sim: SimHandle) -> None:
    acct = eks_account(sim)
    role = acct["roles"][0]["roleName"]
    creds = role_creds(sim, acct["accountId"], role)
    who = client(sim, "sts", "us-west-2", creds).get_caller_identity()
    assert who["Account"] == acct["accountId"]
    truth = next(r for r in acct["roles"] if r["roleName"] == role)
    assert who["Arn"] == truth["assumedRoleArn"]
    assert re.fullmatch(rf"arn:aws:sts::{acct['accountId']}:assumed-role/"
                        rf"AWSReservedSSO_{role}_[0-9a-f]{{16}}/{re.escape(sim.org['user'])}",
                        who["Arn"])
    assert who["UserId"].startswith("AROA")
    # GET with the action in the query works too (header-signed)
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest("GET", f"{sim.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15")
    SigV4Auth(Credentials(creds["accessKeyId"], creds["secretAccessKey"],
                          creds["sessionToken"]), "sts", "eu-west-1").add_auth(req)
    resp = httpx2.get(req.url, headers=dict(req.headers))
    assert resp.status_code == 200
    assert f"<Account>{acct['accountId']}</Account>" in resp.text


def test_sts_errors_are_xml(sim: SimHandle) -> None:
    resp = httpx2.post(f"{sim.endpoint}/", data={"Action": "GetCallerIdentity",
                                                "Version": "2011-06-15"})
    assert resp.status_code == 403
    assert resp.text.startswith("<ErrorResponse")
    assert "<Code>MissingAuthenticationToken</Code>" in resp.text
