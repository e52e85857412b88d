"""AWS Signature Version 4, as pure functions over strings: one signer, two drivers.

The scan signs every EKS call with it (through the adapter in
:mod:`ekstrio.aws.sigv4_auth`), and ``ekstrio token`` presigns its STS URL with it
(:mod:`ekstrio.aws.eks_token`). It imports only the standard library, so the token path, which
kubectl runs before every request, pays for neither httpx2 nor botocore.

It reproduces botocore's ``SigV4Auth`` (header auth) and ``SigV4QueryAuth`` (presigned URL) step
for step, including their quirks, because botocore is what AWS services are known to accept:

* the path is normalised (dot segments and empty segments removed) and then percent-encoded
  AGAIN with only ``/~`` kept, so an already escaped ``%2F`` is signed as ``%252F``;
* the query of a URL is signed as given: pairs split on ``&`` and ``=``, sorted, not re-encoded
  (so the caller encodes each value once, as ``wire.build_url`` does);
* header names are lower-cased, values trimmed with runs of whitespace folded to one space,
  repeated names joined with ``,``; ``host`` comes from the URL (lower case, default port
  dropped) unless a ``host`` header is given; a fixed set of hop-by-hop and tracing headers is
  never signed;
* a presigned URL re-encodes the URL's own query (decoded with ``parse_qs``, first value of each
  name) before the ``X-Amz-*`` parameters, in that order, and ends with ``X-Amz-Signature``.

The unit tests pin every output byte for byte to botocore's for the same credentials and time
(botocore stays the oracle); ``bench/sigv4_bench.py`` prints what each costs per call.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "UNSIGNABLE_HEADERS",
    "HeaderAuth",
    "SigningIdentity",
    "amz_timestamp",
    "authorization_headers",
    "canonical_headers",
    "canonical_path",
    "canonical_query",
    "canonical_request",
    "host_from_url",
    "presigned_url",
    "signature",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_TIMESTAMP = "%Y%m%dT%H%M%SZ"

# Never signed, whoever sets them (botocore's SIGNED_HEADERS_BLACKLIST): hop-by-hop headers a
# proxy rewrites, the client's identity, and tracing headers that tooling adds in flight.
UNSIGNABLE_HEADERS = frozenset({
    "baggage", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent",
    "x-amzn-trace-id",
})

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """Who signs, for which region and service. The secret and the session token stay out of
    ``repr`` (they reach no log or error through this object)."""

    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(repr=False)
    region: str
    service: str

    def __post_init__(self) -> None:
        # An empty session token means none (long-term keys): botocore's header signer skips a
        # falsy token, its query signer only None, so one spelling keeps both paths identical.
        if self.session_token == "":
            object.__setattr__(self, "session_token", None)

    def credential_scope(self, timestamp: str) -> str:
        return f"{timestamp[:8]}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True)
class HeaderAuth:
    """The headers header auth adds to a request (set them; replace any older values)."""

    amz_date: str
    security_token: str | None = field(repr=False)
    authorization: str

    def items(self) -> tuple[tuple[str, str], ...]:
        added = [("X-Amz-Date", self.amz_date)]
        if self.security_token is not None:
            added.append(("X-Amz-Security-Token", self.security_token))
        added.append(("Authorization", self.authorization))
        return tuple(added)


def amz_timestamp(seconds: float) -> str:
    """X-Amz-Date (``YYYYMMDDTHHMMSSZ``, UTC) of a Unix time."""
    return _timestamp_of_second(math.floor(seconds))  # gmtime's own rounding


@lru_cache(maxsize=4)
def _timestamp_of_second(second: int) -> str:
    # A scan signs dozens of calls in the same second: format each second once.
    return time.strftime(_TIMESTAMP, time.gmtime(second))


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, and empty segments dropped as AWS requires (botocore.utils).
    kept: list[str] = []
    for segment in path.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if kept:
                    kept.pop()
            else:
                kept.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and kept else ""
    return first + "/".join(kept) + last


def canonical_path(path: str) -> str:
    """The URI of the canonical request: normalised, then encoded (again) keeping ``/~``."""
    return quote(_remove_dot_segments(path) if path else "/", safe="/~")


def canonical_query(query: str) -> str:
    """The canonical query of a URL's raw query string, signed as given (already encoded)."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        pairs.append((name, value))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def host_from_url(scheme: str, hostname: str | None, port: int | None) -> str:
    """The ``host`` value signed when no host header is given: lower case (urlsplit's
    ``hostname`` already is), IPv6 in brackets, the port only when it is not the default."""
    host = hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return host


def canonical_headers(headers: Iterable[tuple[str, str]], host: str) -> tuple[str, str]:
    """``(canonical header block, signed header list)`` for the signable ``headers``."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname not in UNSIGNABLE_HEADERS:
            values.setdefault(lname, []).append(value)
    if "host" not in values:
        values["host"] = [host]
    names = sorted(values)
    # Plain loops: generator expressions here cost a Python frame per header and value, on
    # every call signed.
    lines = []
    for name in names:
        given = values[name]
        if len(given) == 1:
            lines.append(f"{name}:{' '.join(given[0].split())}\n")
        else:
            lines.append(f"{name}:{','.join([' '.join(v.split()) for v in given])}\n")
    return "".join(lines), ";".join(names)


def canonical_request(method: str, path: str, query: str, header_block: str,
                      signed_headers: str, payload_hash: str) -> str:
    return "\n".join((method.upper(), path, query, header_block, signed_headers, payload_hash))


def string_to_sign(timestamp: str, credential_scope: str, canonical: str) -> str:
    return "\n".join((ALGORITHM, timestamp, credential_scope,
                      hashlib.sha256(canonical.encode()).hexdigest()))


@lru_cache(maxsize=4096)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The derived key of one (secret, day, region, service): four HMACs, so cached. A scan
    signs thousands of calls with the same few hundred keys; 4,096 entries are ~1 MB."""
    # hmac.digest (OpenSSL's one-shot HMAC): a warm all-regions scan derives a key for almost
    # every call (one per account-region), and an hmac.new object costs ten Python calls more.
    key = hmac.digest(f"AWS4{secret_key}".encode(), date.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def signature(identity: SigningIdentity, timestamp: str, to_sign: str) -> str:
    key = signing_key(identity.secret_key, timestamp[:8], identity.region, identity.service)
    # hmac.digest: OpenSSL's one-shot HMAC, without building an HMAC object per call.
    return hmac.digest(key, to_sign.encode(), "sha256").hex()


@lru_cache(maxsize=1024)
def _signed_url_parts(url: str) -> tuple[str, str, str]:
    """``(host, canonical path, canonical query)`` of a URL signed with header auth. Cached:
    a scan signs the same ListClusters URL of a region for every account, and parsing,
    normalising and quoting it cost about a quarter of signing a call. URLs are strings."""
    parts = urlsplit(url)
    return (host_from_url(parts.scheme, parts.hostname, parts.port), canonical_path(parts.path),
            canonical_query(parts.query))


def authorization_headers(
    identity: SigningIdentity,
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timestamp: str,
) -> HeaderAuth:
    """Header auth (``SigV4Auth.add_auth``): the headers to add to ``method url`` with
    ``headers`` and ``body``. ``headers`` must not already hold the three this adds."""
    host, path, query = _signed_url_parts(url)
    added = [("x-amz-date", timestamp)]
    if identity.session_token is not None:
        added.append(("x-amz-security-token", identity.session_token))
    signable = [*headers, *added]
    block, signed = canonical_headers(signable, host)
    payload_hash = None
    for name, value in signable:
        if name.lower() == "x-amz-content-sha256":
            payload_hash = value
            break
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    canonical = canonical_request(method, path, query, block, signed, payload_hash)
    scope = identity.credential_scope(timestamp)
    sig = signature(identity, timestamp, string_to_sign(timestamp, scope, canonical))
    return HeaderAuth(
        amz_date=timestamp,
        security_token=identity.session_token,
        authorization=(f"{ALGORITHM} Credential={identity.access_key}/{scope}, "
                       f"SignedHeaders={signed}, Signature={sig}"),
    )


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def presigned_url(
    identity: SigningIdentity,
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    *,
    timestamp: str,
    expires: int,
) -> str:
    """Query auth (``SigV4QueryAuth.add_auth``, empty body): ``url`` with the ``X-Amz-*``
    parameters and the signature, valid ``expires`` seconds from ``timestamp``."""
    parts = urlsplit(url)
    block, signed = canonical_headers(
        headers, host_from_url(parts.scheme, parts.hostname, parts.port))
    scope = identity.credential_scope(timestamp)
    auth = [("X-Amz-Algorithm", ALGORITHM), ("X-Amz-Credential", f"{identity.access_key}/{scope}"),
            ("X-Amz-Date", timestamp), ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", signed)]
    if identity.session_token is not None:
        auth.append(("X-Amz-Security-Token", identity.session_token))
    operation = [(name, values[0]) for name, values
                 in parse_qs(parts.query, keep_blank_values=True).items()]
    query = "&".join(f"{_encode(name)}={_encode(value)}" for name, value in [*operation, *auth])
    canonical = canonical_request(method, canonical_path(parts.path), canonical_query(query),
                                  block, signed, EMPTY_SHA256)
    sig = signature(identity, timestamp, string_to_sign(timestamp, scope, canonical))
    signed_url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return f"{signed_url}&X-Amz-Signature={sig}"
