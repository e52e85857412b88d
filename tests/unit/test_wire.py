"""aws/wire: URL encoding, AWS error parsing into typed errors, retry predicates."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest

from ekstrio.aws.transport import translate_transport_error
from ekstrio.aws.wire import (
    THROTTLING_CODES,
    WireRequest,
    build_url,
    error_code,
    is_retryable,
    is_throttle,
    parse_error,
    parse_json_body,
    parse_retry_after,
    path_segment,
)
from ekstrio.errors import (
    AccessDeniedError,
    AwsError,
    CallTimeoutError,
    InvalidRequestError,
    NotFoundError,
    OidcError,
    ServerError,
    ThrottlingError,
    TransportError,
)


def test_build_url_encodes_query_values_once_and_strictly() -> None:
    request = WireRequest("GET", "/clusters",
                          (("maxResults", "100"), ("nextToken", "ab/c+d== é&x")))
    url = build_url("https://eks.eu-west-1.amazonaws.com/", request)
    assert url == ("https://eks.eu-west-1.amazonaws.com/clusters?maxResults=100"
                   "&nextToken=ab%2Fc%2Bd%3D%3D%20%C3%A9%26x")
    # The value round-trips, and httpx2 sends the URL as built.
    assert dict(parse_qsl(urlsplit(url).query)) == {"maxResults": "100",
                                                   "nextToken": "ab/c+d== é&x"}
    assert str(httpx2.Request("GET", url).url) == url


def test_build_url_keeps_base_path_and_omits_empty_query() -> None:
    assert build_url("http://127.0.0.1:5000/base", WireRequest("POST", "/logout")) == (
        "http://127.0.0.1:5000/base/logout")


def test_path_segment() -> None:
    assert path_segment("my-cluster_1.a~") == "my-cluster_1.a~"
    assert path_segment("a/b c") == "a%2Fb%20c"


def test_repr_hides_header_values() -> None:
    request = WireRequest("GET", "/assignment/accounts",
                          headers=(("x-amz-sso_bearer_token", "SECRET-TOKEN"),))
    assert "SECRET-TOKEN" not in repr(request)
    assert "x-amz-sso_bearer_token" in repr(request)


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({"x-amzn-ErrorType": "AuthorizationPendingException:http://internal.amazon.com/coral/"
          "com.amazonaws.sso.oidc/"}, b"{}", "AuthorizationPendingException"),
        ({"X-Amzn-ErrorType": "com.amazonaws.eks#ResourceNotFoundException"}, b"",
         "ResourceNotFoundException"),
        ({}, b'{"code": "ThrottlingException", "__type": "Other"}', "ThrottlingException"),
        ({}, b'{"Code": "AccessDenied"}', "AccessDenied"),
        ({}, b'{"message": "Session token not found or invalid", '
             b'"__type": "com.amazonaws.switchboard.portal#UnauthorizedException"}',
         "UnauthorizedException"),
        ({}, b"<html>500</html>", "500"),
        ({"x-amzn-ErrorType": ""}, b"", "503"),
    ],
)
def test_error_code_sources(headers: dict[str, str], body: bytes, code: str) -> None:
    status = 503 if code == "503" else 500
    assert error_code(status, headers, body) == code


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "TooManyRequestsException", ThrottlingError),
        (400, "ThrottlingException", ThrottlingError),
        (400, "Throttling", ThrottlingError),
        (400, "RequestLimitExceeded", ThrottlingError),
        (400, "PriorRequestNotComplete", ThrottlingError),
        (429, "SomethingNew", ThrottlingError),
        (500, "ServerException", ServerError),
        (503, "ServiceUnavailableException", ServerError),
        (502, "502", ServerError),
        (408, "RequestTimeoutException", ServerError),
        (400, "AccessDeniedException", AccessDeniedError),
        (403, "AccessDenied", AccessDeniedError),
        (403, "Forbidden", AccessDeniedError),
        (401, "UnauthorizedException", AccessDeniedError),
        (403, "UnrecognizedClientException", AccessDeniedError),
        (403, "InvalidClientTokenId", AccessDeniedError),
        (400, "ExpiredTokenException", AccessDeniedError),
        (400, "ExpiredToken", AccessDeniedError),
        (404, "ResourceNotFoundException", NotFoundError),
        (400, "ResourceNotFoundException", NotFoundError),
        (404, "404", NotFoundError),
        (400, "InvalidParameterException", InvalidRequestError),
        (400, "ClientException", InvalidRequestError),
        (400, "InvalidRequestException", InvalidRequestError),
        (409, "ResourceInUseException", InvalidRequestError),
        (302, "302", AwsError),
    ],
)
def test_parse_error_maps_to_typed_errors(status: int, code: str, kind: type[AwsError]) -> None:
    error = parse_error(status, {"x-amzn-ErrorType": code, "x-amzn-RequestId": "rid-1"},
                        b'{"message": "it failed"}', service="eks")
    assert type(error) is kind
    assert (error.code, error.status, error.message, error.request_id, error.service) == (
        code, status, "it failed", "rid-1", "eks")


def test_region_not_enabled_answer_keeps_its_exact_code() -> None:
    error = parse_error(
        403, {"x-amzn-ErrorType": "UnrecognizedClientException:http://internal.amazon.com/"},
        b'{"message": "The security token included in the request is invalid."}',
        service="eks")
    assert isinstance(error, AccessDeniedError)
    assert error.code == "UnrecognizedClientException"
    assert "security token included in the request is invalid" in str(error)


def test_every_throttling_code_is_a_throttle() -> None:
    for code in THROTTLING_CODES:
        error = parse_error(400, {}, f'{{"__type": "{code}"}}'.encode(), service="sso")
        assert is_throttle(error)
        assert is_retryable(error)


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (400, "authorization_pending", OidcError),
        (400, "slow_down", OidcError),
        (400, "expired_token", OidcError),
        (400, "access_denied", OidcError),
        (401, "invalid_client", OidcError),
        (500, "server_error", ServerError),
    ],
)
def test_oidc_error_bodies(status: int, error: str, kind: type[AwsError]) -> None:
    headers = {"x-amzn-ErrorType": "AuthorizationPendingException:http://internal.amazon.com/"}
    body = f'{{"error": "{error}", "error_description": "desc"}}'.encode()
    parsed = parse_error(status, headers, body, service="sso-oidc")
    assert type(parsed) is kind
    assert parsed.message == "desc"
    if kind is OidcError:
        # The polling loop keys on the OAuth value, and never retries it generically.
        assert parsed.code == error
        assert not is_retryable(parsed)
        assert not is_throttle(parsed)


def test_non_json_error_body_gets_the_status_phrase() -> None:
    error = parse_error(500, {}, b"<html><body>Internal Server Error</body></html>",
                        service="eks")
    assert isinstance(error, ServerError)
    assert (error.code, error.message) == ("500", "Internal Server Error")


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "Sat, 28 Nov 2026 16:00:10 GMT"}, 10.0),
        ({"Retry-After": "soon"}, None),
        ({"x-amz-retry-after": "2500"}, 2.5),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    now = datetime(2026, 11, 28, 16, 0, 0, tzinfo=UTC)
    assert parse_retry_after(headers, now=now) == seconds


def test_retry_after_and_request_id_reach_the_error() -> None:
    error = parse_error(429, httpx2.Headers({"Retry-After": "7", "x-amz-request-id": "r2"}),
                        b"", service="sso")
    assert isinstance(error, ThrottlingError)
    assert (error.retry_after, error.request_id, error.code) == (7.0, "r2", "429")


def test_is_retryable_matrix() -> None:
    request = httpx2.Request("GET", "https://eks.us-east-1.amazonaws.com/clusters")
    retryable = [
        ThrottlingError("ThrottlingException", status=429),
        ServerError("ServerException", status=500),
        TransportError("reset"),
        CallTimeoutError("slow"),
        translate_transport_error(httpx2.ConnectError("refused", request=request)),
        translate_transport_error(httpx2.ReadTimeout("slow", request=request)),
    ]
    final = [
        AccessDeniedError("AccessDeniedException", status=403),
        NotFoundError("ResourceNotFoundException", status=404),
        InvalidRequestError("InvalidParameterException", status=400),
        OidcError("slow_down", status=400),
        AwsError("InvalidResponse"),
        ValueError("bug"),
    ]
    assert all(is_retryable(e) for e in retryable)
    assert not any(is_retryable(e) for e in final)
    assert [is_throttle(e) for e in retryable] == [True, False, False, False, False, False]


def test_translate_transport_error() -> None:
    request = httpx2.Request("GET", "https://eks.us-east-1.amazonaws.com/clusters")
    timeout = translate_transport_error(httpx2.ConnectTimeout("timed out", request=request))
    assert isinstance(timeout, CallTimeoutError)
    refused = translate_transport_error(httpx2.ConnectError("Connection refused", request=request))
    assert type(refused) is TransportError
    assert "ConnectError" in str(refused)
    assert "Connection refused" in str(refused)


def test_parse_json_body() -> None:
    assert parse_json_body(b'{"a": 1}', service="eks") == {"a": 1}
    assert parse_json_body(b"", service="sso") == {}
    for bad in (b"[1, 2]", b"<html>", b'"x"'):
        with pytest.raises(AwsError, match="InvalidResponse") as info:
            parse_json_body(bad, service="eks")
        assert not is_retryable(info.value)
