"""Pure wire-level pieces shared by every AWS operation.

- :class:`WireRequest`: one HTTP request as plain data, built by the operation
  modules and sent by the transport.
- :func:`build_url`: URL building with the one query encoding the signer agrees
  with (``quote(v, safe="-_.~")``; botocore signs the query as given and httpx2
  keeps ``%XX`` escapes, so a ``nextToken`` with ``/+=`` survives).
- :func:`parse_error`: an AWS error answer → the right :class:`AwsError` subclass.
- :func:`is_retryable` / :func:`is_throttle`: the single retry predicate (the transport
  turns HTTP client failures into :class:`TransportError` before it is asked).

No I/O here, and no HTTP client import: ``ekstrio token`` reuses this module with urllib.
"""

from __future__ import annotations

import email.utils
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from ekstrio.errors import (
    AccessDeniedError,
    AwsError,
    InvalidRequestError,
    NotFoundError,
    OidcError,
    ResponseTooLargeError,
    ServerError,
    ThrottlingError,
    TransportError,
)

__all__ = [
    "THROTTLING_CODES",
    "WireRequest",
    "build_url",
    "error_code",
    "is_retryable",
    "is_throttle",
    "parse_error",
    "parse_json_body",
    "parse_retry_after",
    "path_segment",
    "read_xml",
]

# The SDKs' throttling codes (botocore standard retry mode; the Go SDK uses the same list).
THROTTLING_CODES = frozenset({
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
})

# Transient server-side codes that may arrive with a 4xx status (standard retry mode).
_TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException"})

# Codes meaning "these credentials/this token are not accepted". EKS answers a
# region that is not opted in with 403 UnrecognizedClientException ("The
# security token included in the request is invalid."); the scan keys on that
# exact code, so codes are kept verbatim in the error object.
_ACCESS_CODES = frozenset({
    "UnauthorizedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AuthFailure",
})

_QUERY_SAFE = "-_.~"


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One HTTP request as data. ``path`` is already percent-encoded;
    ``query`` values are raw and encoded by :func:`build_url`."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def __repr__(self) -> str:
        # Header values may carry a bearer token: never show them.
        names = ", ".join(name for name, _ in self.headers)
        return (
            f"WireRequest(method={self.method!r}, path={self.path!r}, "
            f"query={self.query!r}, headers=[{names}])"
        )


def path_segment(value: str) -> str:
    """Percent-encode one path segment (a cluster name, say)."""
    return quote(value, safe=_QUERY_SAFE)


def encode_query(query: Iterable[tuple[str, str]]) -> str:
    return "&".join(
        f"{quote(name, safe=_QUERY_SAFE)}={quote(value, safe=_QUERY_SAFE)}"
        for name, value in query
    )


def build_url(base_url: str, request: WireRequest) -> str:
    """``base_url`` (scheme + host + optional base path, no trailing slash) + path + query."""
    return _url(base_url, request.path, request.query)


@lru_cache(maxsize=1024)
def _url(base_url: str, path: str, query: tuple[tuple[str, str], ...]) -> str:
    # Remembered: a scan asks every account the same ListClusters URL of a region, and
    # quoting its query cost a dozen Python calls a time. Queries carry names and paging
    # tokens, never a credential (those travel in headers and bodies).
    url = base_url.rstrip("/") + path
    if query:
        url += "?" + encode_query(query)
    return url


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Any mapping: httpx2's Headers (the transport) or a urllib answer's, as a dict (the
    # token path); AWS header names are compared case-insensitively either way.
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _trim_code(raw: str) -> str:
    # "com.amazonaws.switchboard.portal#UnauthorizedException" or
    # "AuthorizationPendingException:http://internal.amazon.com/coral/..."
    return raw.split(":", 1)[0].rsplit("#", 1)[-1].strip()


# An XML answer (STS's query protocol) larger than this is not read: GetCallerIdentity's is
# about 400 bytes and an error about 300.
XML_CAP = 64 * 1024


def read_xml(body: bytes) -> ET.Element | None:
    """The root element of a small XML answer, or None when it is not one we read.

    Everything an AWS answer carries is untrusted: bodies over :data:`XML_CAP` and any
    document with a DOCTYPE (the door to entity expansion) are refused before parsing.
    Namespaces are stripped from tags so callers match plain names.
    """
    if len(body) > XML_CAP or b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return None
    try:
        root = ET.fromstring(body)  # noqa: S314 - capped and DOCTYPE-free (above)
    except ET.ParseError:
        return None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.rsplit("}", 1)[1]
    return root


def _xml_error(body: bytes) -> dict[str, Any]:
    # The query protocol's <ErrorResponse><Error><Code/><Message/></Error></ErrorResponse>.
    if not body.lstrip().startswith(b"<"):
        return {}
    root = read_xml(body)
    error = root.find(".//Error") if root is not None else None
    if error is None:
        return {}
    return {key: (error.findtext(key) or "").strip() for key in ("Code", "Message")
            if error.findtext(key)}


def _error_doc(body: bytes) -> dict[str, Any]:
    # rest-json errors are flat; the query protocol nests {"Error": {"Code", "Message"}}
    # in JSON (when asked for JSON) and in XML.
    doc = _json_object(body)
    nested = doc.get("Error")
    if isinstance(nested, dict):
        return {**doc, **{k: v for k, v in nested.items() if k in ("Code", "Message")}}
    return doc or _xml_error(body)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def error_code(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The AWS error code, per the SDKs: ``x-amzn-ErrorType``, then the body's
    ``code``/``Code``, then ``__type``, then the HTTP status."""
    return _code(status, headers, _error_doc(body))


def _code(status: int, headers: Mapping[str, str], doc: dict[str, Any]) -> str:
    header = _header(headers, "x-amzn-ErrorType")
    if header and _trim_code(header):
        return _trim_code(header)
    for key in ("code", "Code", "__type"):
        value = doc.get(key)
        if isinstance(value, str) and _trim_code(value):
            return _trim_code(value)
    return str(status)


def parse_retry_after(
    headers: Mapping[str, str], *, now: datetime | None = None
) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds or an HTTP
    date), else ``x-amz-retry-after`` (milliseconds). None when absent or garbled."""
    value = _header(headers, "Retry-After")
    if value is not None:
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return max(0.0, seconds) if math.isfinite(seconds) else None
    value = _header(headers, "x-amz-retry-after")
    if value is not None:
        try:
            millis = float(value.strip())
        except ValueError:
            return None
        return max(0.0, millis / 1000) if math.isfinite(millis) else None
    return None


def parse_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    service: str,
) -> AwsError:
    """Turn an error answer into the matching :class:`AwsError` subclass."""
    doc = _error_doc(body)
    request_id = (
        _header(headers, "x-amzn-RequestId") or _header(headers, "x-amz-request-id") or None
    )
    retry_after = parse_retry_after(headers)
    common: dict[str, Any] = {
        "status": status,
        "request_id": request_id,
        "service": service,
        "retry_after": retry_after,
    }

    # SSO OIDC speaks OAuth: {"error": "authorization_pending", "error_description": ...}.
    # Keep the OAuth value as the code: the polling loop keys on it. 5xx stays a
    # ServerError so that it is retried like any other transient failure.
    oauth_error = doc.get("error")
    if isinstance(oauth_error, str) and "__type" not in doc and status < 500:
        description = doc.get("error_description")
        message = description if isinstance(description, str) else ""
        return OidcError(oauth_error, message, **common)

    code = _code(status, headers, doc)  # the body is parsed once, above
    raw_message = doc.get("message", doc.get("Message"))
    if isinstance(raw_message, str):
        message = raw_message
    elif isinstance(oauth_error, str):
        description = doc.get("error_description")
        message = description if isinstance(description, str) else oauth_error
    else:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = ""

    if code in THROTTLING_CODES or status == 429:
        return ThrottlingError(code, message, **common)
    if status >= 500 or code in _TRANSIENT_CODES:
        return ServerError(code, message, **common)
    if (
        status in (401, 403)
        or code.startswith(("AccessDenied", "ExpiredToken"))
        or code in _ACCESS_CODES
    ):
        return AccessDeniedError(code, message, **common)
    if status == 404 or code.startswith("ResourceNotFound") or code == "NotFoundException":
        return NotFoundError(code, message, **common)
    if 400 <= status < 500:
        return InvalidRequestError(code, message, **common)
    return AwsError(code, message, **common)


def parse_json_body(body: bytes, *, service: str, status: int = 200) -> dict[str, Any]:
    """The JSON object of a successful answer (``{}`` for an empty body).

    A success that is not a JSON object means a proxy or a broken peer
    answered; that is reported as a non-retryable :class:`AwsError`.
    """
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise AwsError("InvalidResponse", "the answer is not a JSON object",
                       status=status, service=service)
    return value


def is_throttle(exc: BaseException) -> bool:
    """True when the service asked us to slow down (429 or a throttling code)."""
    return isinstance(exc, ThrottlingError)


def is_retryable(exc: BaseException) -> bool:
    """The one retry predicate: throttling, 5xx and transient codes, transport
    failures and per-call timeouts. OIDC answers never are (``slow_down`` and
    ``authorization_pending`` belong to the polling loop), nor an answer past the
    body cap (the same endpoint would send the same again)."""
    if isinstance(exc, OidcError | ResponseTooLargeError):
        return False
    return isinstance(
        exc,
        ThrottlingError | ServerError | TransportError,
    )
