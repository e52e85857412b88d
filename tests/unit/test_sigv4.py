"""aws/sigv4: the signature on the wire is the one botocore computes for that exact request."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit

import httpx2
import respx
from wire_fakes import AUTH_HEADER, CREDS, recompute_signature, respx_client

from ekstrio.aws import sigv4
from ekstrio.aws.sigv4_auth import SigV4Auth
from ekstrio.aws.wire import WireRequest, build_url


async def test_signature_on_the_wire_recomputes_with_botocore() -> None:
    token = "ab/c+d==/e+f="
    url = build_url("https://eks.eu-west-1.amazonaws.com",
                    WireRequest("GET", "/clusters", (("maxResults", "100"), ("nextToken", token))))
    with respx.mock(assert_all_called=True) as router:
        route = router.get(url__startswith="https://eks.eu-west-1.amazonaws.com/clusters").respond(
            json={"clusters": []})
        async with respx_client() as client:
            await client.get(url, auth=SigV4Auth(CREDS, "eks", "eu-west-1"))
    sent = route.calls.last.request
    # nextToken survived the trip byte for byte, escaped once.
    assert "nextToken=ab%2Fc%2Bd%3D%3D%2Fe%2Bf%3D" in str(sent.url)
    assert dict(parse_qsl(urlsplit(str(sent.url)).query))["nextToken"] == token
    match = AUTH_HEADER.match(sent.headers["Authorization"])
    assert match
    assert (match["key"], match["region"], match["service"]) == (
        CREDS.access_key_id, "eu-west-1", "eks")
    assert match["date"] == sent.headers["X-Amz-Date"][:8]
    assert sent.headers["X-Amz-Security-Token"] == CREDS.session_token
    # host and the two x-amz headers are signed; headers a proxy may touch are not.
    assert set(match["signed"].split(";")) == {"host", "x-amz-date", "x-amz-security-token"}
    assert match["signature"] == recompute_signature(sent, "eks", "eu-west-1")


async def test_signed_post_with_body_and_content_type() -> None:
    body = b'{"name": "x"}'
    with respx.mock() as router:
        route = router.post("http://127.0.0.1:4566/base/clusters").respond(json={})
        async with respx_client() as client:
            await client.post("http://127.0.0.1:4566/base/clusters", content=body,
                              headers={"Content-Type": "application/json"},
                              auth=SigV4Auth(CREDS, "eks", "us-gov-west-1"))
    sent = route.calls.last.request
    match = AUTH_HEADER.match(sent.headers["Authorization"])
    assert match
    assert "content-type" in match["signed"].split(";")
    assert match["signature"] == recompute_signature(sent, "eks", "us-gov-west-1")


async def test_tampering_breaks_the_recomputed_signature() -> None:
    # The check above could not pass by accident: change the query and it fails.
    with respx.mock() as router:
        route = router.get(url__startswith="https://eks.us-east-1.amazonaws.com/").respond(json={})
        async with respx_client() as client:
            await client.get("https://eks.us-east-1.amazonaws.com/clusters?nextToken=a%2Fb",
                             auth=SigV4Auth(CREDS, "eks", "us-east-1"))
    sent = route.calls.last.request
    forged = httpx2.Request("GET", "https://eks.us-east-1.amazonaws.com/clusters?nextToken=a%2Fc",
                           headers=sent.headers)
    match = AUTH_HEADER.match(sent.headers["Authorization"])
    assert match
    signature = match["signature"]
    assert recompute_signature(forged, "eks", "us-east-1") != signature
    assert recompute_signature(sent, "eks", "us-east-1") == signature


def test_repr_and_no_secret_leak() -> None:
    auth = SigV4Auth(CREDS, "eks", "eu-west-1")
    assert CREDS.secret_access_key not in repr(auth)
    assert CREDS.session_token not in repr(auth)
    assert repr(auth) == "SigV4Auth(service='eks', region='eu-west-1')"


def server_side_signature(sent: httpx2.Request, secret: str, region: str, service: str) -> str:
    """SigV4 as the AWS documentation has the server compute it, without botocore:
    the canonical query is rebuilt from the DECODED parameters, each name and
    value URI-encoded (unreserved characters kept) and sorted. If our URL
    encoding differed from that, botocore (which signs the query as given)
    and AWS would disagree even though the recomputation above agrees."""
    match = AUTH_HEADER.match(sent.headers["Authorization"])
    assert match
    signed = match["signed"].split(";")
    amz_date = sent.headers["X-Amz-Date"]
    params = parse_qsl(urlsplit(str(sent.url)).query, keep_blank_values=True)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params))
    canonical_request = "\n".join([
        sent.method,
        quote(sent.url.path, safe="/~"),
        canonical_query,
        "".join(f"{name}:{' '.join(sent.headers[name].split())}\n" for name in signed),
        ";".join(signed),
        hashlib.sha256(sent.content).hexdigest(),
    ])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


async def test_signature_matches_an_independent_server_side_computation() -> None:
    request = WireRequest("GET", "/clusters", (("nextToken", "Zz/+=é ~x"), ("maxResults", "100"),
                                               ("include", "all")))
    url = build_url("https://eks.sa-east-1.amazonaws.com", request)
    with respx.mock() as router:
        route = router.get(url__startswith="https://eks.sa-east-1.amazonaws.com/").respond(
            json={})
        async with respx_client() as client:
            await client.get(url, auth=SigV4Auth(CREDS, "eks", "sa-east-1"))
    sent = route.calls.last.request
    match = AUTH_HEADER.match(sent.headers["Authorization"])
    assert match
    assert match["signature"] == server_side_signature(sent, CREDS.secret_access_key,
                                                       "sa-east-1", "eks")


def test_amz_timestamp_is_the_utc_second_of_the_time_it_is_given() -> None:
    # Formatted once per second (a small cache): each call still gets its own second.
    import time

    from ekstrio.aws.sigv4 import amz_timestamp

    for seconds in (0, 0.999, 1.0, 1700000000.5, 1700000001.0, 1700000000.25, 86399.999,
                    86400.0, -0.5):
        assert amz_timestamp(seconds) == time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))
    assert amz_timestamp(1700000000.5) == "20231114T221320Z"
    assert amz_timestamp(1700000001.0) == "20231114T221321Z"


def test_canonical_headers_fold_case_spaces_and_repeats_as_sigv4_says() -> None:
    # AWS's SigV4 rules: names lower-cased and sorted, values trimmed with inner runs of
    # spaces made one, a repeated name's values joined by commas in the order given; the
    # host comes from the URL unless given; User-Agent and the like are never signed.
    block, signed = sigv4.canonical_headers(
        [("X-Custom", "  a   b "), ("User-Agent", "ekstrio"), ("x-custom", "c"),
         ("X-Amz-Date", "20261204T000000Z"), ("x-custom", "d  e"), ("X-Single", " p   q ")],
        "eks.eu-west-1.amazonaws.com")
    assert block == ("host:eks.eu-west-1.amazonaws.com\n"
                     "x-amz-date:20261204T000000Z\n"
                     "x-custom:a b,c,d e\n"
                     "x-single:p q\n")
    assert signed == "host;x-amz-date;x-custom;x-single"
    given_host = sigv4.canonical_headers([("Host", "example:8443")], "ignored")
    assert given_host == ("host:example:8443\n", "host")
