"""kube_live + access_live: the live check against a fake API server over real TLS on 127.0.0.1
(outcomes, request shapes, CA pinning, the bound as a cancel scope)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio
import trustme
from kube_fakes import fake_kube

from ekstrio.access_live import Check, LiveOutcome, LiveResult, api_url, checks_for
from ekstrio.kube_live import check_live

TOKEN = "k8s-aws-v1.aHR0cHM6Ly9zdHM"
WHO = {"status": {"userInfo": {"username": "alice", "groups": ["system:authenticated", "ops"]}}}


def allow(*allowed: str) -> Any:
    def answer(path: str, doc: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
        if token != TOKEN:
            return 401, {"kind": "Status", "code": 401}
        if path.endswith("/selfsubjectreviews"):
            return 201, {**doc, **WHO}
        attrs = doc["spec"]["resourceAttributes"]
        name = Check(attrs["verb"], attrs["resource"], attrs.get("namespace")).name
        return 201, {**doc, "status": {"allowed": name in allowed}}
    return answer


async def test_ok_with_rights_and_request_shapes() -> None:
    async with fake_kube(allow("list namespaces")) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN,
                                  checks=checks_for(["ns1", "default"]))
    assert result == LiveResult(LiveOutcome.OK, "alice", ("system:authenticated", "ops"), (
        ("list namespaces", True), ("get pods in default", False), ("get pods in ns1", False)))
    assert result.label == "ok(list namespaces)"
    paths = [path for path, _ in kube.seen]
    assert paths[0] == "/k8s/web/apis/authentication.k8s.io/v1/selfsubjectreviews"
    assert set(paths[1:]) == {"/k8s/web/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"}
    assert kube.seen[0][1] == {"apiVersion": "authentication.k8s.io/v1",
                               "kind": "SelfSubjectReview"}
    assert kube.seen[2][1]["spec"] == {"resourceAttributes": {
        "verb": "get", "resource": "pods", "namespace": "default"}}
    assert LiveResult.from_json(result.to_json()) == result


async def test_unauthorized() -> None:
    async with fake_kube(allow()) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, "k8s-aws-v1.wrong")
    assert result.outcome is LiveOutcome.UNAUTHORIZED
    assert len(kube.seen) == 1  # stops at the first 401


async def test_forbidden_when_signed_in_without_rights() -> None:
    async with fake_kube(allow()) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN)
    assert (result.outcome, result.username) == (LiveOutcome.FORBIDDEN, "alice")
    assert result.rights == (("list namespaces", False), ("get pods in default", False))


async def test_older_server_gets_v1beta1() -> None:
    inner = allow("get pods in default")

    def answer(path: str, doc: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
        if "/v1/selfsubjectreviews" in path:
            return 404, {"kind": "Status", "code": 404}
        return inner(path, doc, token)  # type: ignore[no-any-return]

    async with fake_kube(answer) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN)
    assert (result.outcome, result.username) == (LiveOutcome.OK, "alice")
    assert kube.seen[1][1]["apiVersion"] == "authentication.k8s.io/v1beta1"


async def test_wrong_ca_is_a_tls_error() -> None:
    async with fake_kube(allow("list namespaces"), ca=trustme.CA()) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN)
    assert result.outcome is LiveOutcome.TLS_ERROR
    assert "certificate" in result.detail
    assert kube.seen == []


async def test_the_system_store_is_not_trusted(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Any) -> None:
    # Even a CA the environment trusts is not the cluster's CA.
    other = trustme.CA()
    async with fake_kube(allow("list namespaces"), ca=other) as kube:
        bundle = tmp_path / "ca.pem"
        other.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN)
    assert result.outcome is LiveOutcome.TLS_ERROR


async def test_silent_server_is_unreachable_within_the_bound(autojump_clock: Any) -> None:
    async with fake_kube(lambda *_: None) as kube:
        start = trio.current_time()
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN, bound=3.0)
        assert trio.current_time() - start == pytest.approx(3.0)
    assert (result.outcome, result.detail) == (LiveOutcome.UNREACHABLE, "no answer within 3 s")


async def test_listener_that_never_accepts_is_unreachable(autojump_clock: Any) -> None:
    # The kernel completes the TCP handshake; TLS never starts (like a black-holed port,
    # without sending anything off this machine).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        ca = trustme.CA()
        import base64

        result = await check_live(f"https://127.0.0.1:{port}", base64.b64encode(
            ca.cert_pem.bytes()).decode(), TOKEN, bound=5.0)
    assert result.outcome is LiveOutcome.UNREACHABLE


async def test_refused_port_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        async with fake_kube(allow()) as kube:
            result = await check_live(f"https://127.0.0.1:{port}", kube.ca_data, TOKEN)
    assert result.outcome is LiveOutcome.UNREACHABLE


async def test_oversized_and_garbled_answers_are_errors() -> None:
    def huge(path: str, doc: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
        return 201, {"status": {"userInfo": {"username": "x" * 70000}}}

    async with fake_kube(huge) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN)
    assert (result.outcome, result.detail) == (LiveOutcome.ERROR, "answer larger than 65536 bytes")

    async with fake_kube(lambda *_: (201, {"status": {}})) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN)
    assert result.outcome is LiveOutcome.ERROR
    async with fake_kube(lambda *_: (500, {})) as kube:
        result = await check_live(kube.endpoint, kube.ca_data, TOKEN)
    assert (result.outcome, result.detail) == (LiveOutcome.ERROR, "SelfSubjectReview: HTTP 500")


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:1", "https://", "ftp://x",
                                      "https://u:p@host", "https://h/?q=1"])
async def test_only_plain_https_endpoints(endpoint: str) -> None:
    result = await check_live(endpoint, "eA==", TOKEN)
    assert result.outcome is LiveOutcome.ERROR
    with pytest.raises(ValueError, match="https"):
        api_url(endpoint, "/x")


@pytest.mark.parametrize("data", [None, "", "not base64!", "aGVsbG8="])
async def test_bad_ca_data_is_a_tls_error(data: str | None) -> None:
    result = await check_live("https://127.0.0.1:1", data, TOKEN)
    assert result.outcome is LiveOutcome.TLS_ERROR


def test_api_url_keeps_a_path_prefix() -> None:
    assert api_url("https://127.0.0.1:8443/k8s/a/", "/apis/x") == \
        "https://127.0.0.1:8443/k8s/a/apis/x"
    assert api_url("https://ABC.gr7.eu-west-1.eks.amazonaws.com", "/apis/x") == \
        "https://ABC.gr7.eu-west-1.eks.amazonaws.com/apis/x"
