"""The --debug line names the operation from the request's shape, never from its secrets."""

from __future__ import annotations

import logging

import pytest

from ekstrio.aws.http_log import log_attempt, operation
from ekstrio.aws.wire import WireRequest


@pytest.mark.parametrize(("method", "path", "headers", "name"), [
    ("GET", "/assignment/accounts", (), "ListAccounts"),
    ("GET", "/federation/credentials", (("x-amz-sso_bearer_token", "SECRET"),),
     "GetRoleCredentials"),
    ("POST", "/token", (), "CreateToken"),
    ("GET", "/clusters/web%2Fprod", (), "DescribeCluster"),
    ("GET", "/clusters", (), "ListClusters"),
    ("POST", "/", (("X-Amz-Target", "AWSSecurityTokenServiceV20110615.GetCallerIdentity"),),
     "GetCallerIdentity"),
    ("PUT", "/something/else", (), "PUT /something"),
])
def test_operation(method: str, path: str, headers: tuple[tuple[str, str], ...],
                   name: str) -> None:
    assert operation(WireRequest(method, path, headers=headers)) == name


def test_line_has_no_header_body_or_query(caplog: pytest.LogCaptureFixture) -> None:
    request = WireRequest("GET", "/federation/credentials",
                          query=(("role_name", "Admin"), ("account_id", "1")),
                          headers=(("x-amz-sso_bearer_token", "aoaSECRETTOKEN"),),
                          body=b'{"clientSecret": "SECRETBODY"}')
    with caplog.at_level(logging.DEBUG, logger="ekstrio.http"):
        log_attempt(request, "https://user:pw@portal.sso.eu-west-1.amazonaws.com:443/"
                    "federation/credentials?role_name=Admin", service="sso",
                    outcome="status=403 ForbiddenException", number=2, wait=0.25,
                    latency=0.0814, request_id="rid-1")
    line = caplog.records[-1].getMessage()
    assert line == ("GET portal.sso.eu-west-1.amazonaws.com:443 sso GetRoleCredentials "
                    "status=403 ForbiddenException attempt=2 wait=0.250s latency=0.081s "
                    "request-id=rid-1")
    for secret in ("SECRET", "pw", "role_name"):
        assert secret not in line
