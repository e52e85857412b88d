"""The run's HTTP client: which transport, which CAs, and how much of an answer is read.

- :func:`make_http_client`: one ``httpx2.AsyncClient`` for a run. Direct connections go
  through :class:`~ekstrio.aws.lean_http.LeanTransport` (see why there); every URL a proxy
  variable covers goes through httpx2's own proxy transport (the client's mounts), with the
  same ``ssl.SSLContext``. ``EKSTRIO_HTTP_TRANSPORT=httpx2`` puts httpx2's own transport
  under direct connections too (a way out should the lean path misbehave somewhere, and the
  benchmark's comparison).
- :func:`read_capped`: a response body, read as a stream and given up on past ``MAX_BODY``.
- :func:`request_headers`: the header lines httpx2 would write for a request, for the
  Transport's direct path to the lean transport (no ``httpx2.Request`` built).
"""

from __future__ import annotations

import enum
import os
import re
import ssl
import sys
import weakref
from collections.abc import AsyncIterable, Iterable, Mapping

import httpx2
from httpx2._utils import get_environment_proxies

from ekstrio import __version__
from ekstrio.aws.lean_http import LeanTransport
from ekstrio.errors import ConfigError, ResponseTooLargeError

__all__ = ["MAX_BODY", "TRANSPORT_ENV", "HttpTransportKind", "direct_transport",
           "make_http_client", "read_capped", "read_stream_capped", "request_headers",
           "ssl_context", "transport_kind"]

# The most of one answer ekstrio reads. The largest real page is far below it: a
# DescribeCluster with 50 tags of maximum length is under 80 KB, a ListAccounts page of 100
# accounts under 50 KB (typical pages are 1-10 KB). 1 MiB is over ten times the worst real
# case, and it bounds what a hostile or broken endpoint (a body that never ends) can cost:
# at most MAX_BODY per request in flight (64 MiB at the default preset's 64), then the call
# fails with ResponseTooLargeError instead of the process growing until it is killed.
MAX_BODY = 1024 * 1024

TRANSPORT_ENV = "EKSTRIO_HTTP_TRANSPORT"

# For httpx2's own transports (the lean one keeps no such limits: the Transport's limiter
# bounds requests in flight). Sized above every preset's in-flight bound, so a request never
# waits for a connection while holding a limiter slot.
_LIMITS = httpx2.Limits(max_connections=300, max_keepalive_connections=256,
                        keepalive_expiry=30.0)


# Clients whose every URL goes to the lean transport (no proxy variable covers any): see
# direct_transport. Weak, so that a closed and dropped client is forgotten.
_DIRECT: weakref.WeakKeyDictionary[httpx2.AsyncClient, LeanTransport] = (
    weakref.WeakKeyDictionary())


def direct_transport(client: httpx2.AsyncClient) -> LeanTransport | None:
    """The lean transport that carries every request of ``client``, when no proxy is
    configured; None otherwise (a proxy, httpx2's own transport, or a client that
    :func:`make_http_client` did not make, such as a test's).

    The Transport then hands its ``httpx2.Request`` straight to that transport: what
    ``client.send`` adds on top (auth flows, redirects, cookie jars, event hooks) is
    nothing ekstrio uses, and it cost about a tenth of a scan's CPU.
    """
    return _DIRECT.get(client)


class HttpTransportKind(enum.Enum):
    """What carries direct (un-proxied) connections."""

    LEAN = "lean"
    HTTPX2 = "httpx2"


def transport_kind(env: Mapping[str, str] | None = None) -> HttpTransportKind:
    """``EKSTRIO_HTTP_TRANSPORT`` (``lean`` by default, or ``httpx2``)."""
    value = (os.environ if env is None else env).get(TRANSPORT_ENV, "").strip().lower()
    if not value:
        return HttpTransportKind.LEAN
    try:
        return HttpTransportKind(value)
    except ValueError:
        raise ConfigError(f"{TRANSPORT_ENV}={value!r}: use 'lean' or 'httpx2'") from None


def ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The CAs a run trusts: ``ca_bundle`` (the config's), else ``AWS_CA_BUNDLE``, else
    httpx2's rules (SSL_CERT_FILE, SSL_CERT_DIR, the system store)."""
    cafile = ca_bundle or os.environ.get("AWS_CA_BUNDLE") or None
    if cafile:
        return _load_cas(cafile=cafile)
    if sys.platform in ("win32", "darwin"):
        # The OS trust store, through truststore, exactly as httpx2 does it.
        return httpx2.create_ssl_context(verify=True, trust_env=True)
    return _default_context()


def _load_cas(*, cafile: str | None = None, capath: str | None = None,
              named: str = "") -> ssl.SSLContext:
    """A default context trusting ``cafile`` or ``capath``; a file or directory that cannot be
    read is a ConfigError naming it (and ``named``, the variable that gave it)."""
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        where = f" ({named})" if named else ""
        raise ConfigError(f"cannot load the CA bundle {cafile or capath!r}{where}: {exc}") from exc


# Where httpcore2 looks for a CA bundle when OpenSSL's compiled-in paths hold none.
_CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)


def _default_context() -> ssl.SSLContext:
    """httpx2's default context on Linux and other Unixes (httpcore2.default_ssl_context with
    the environment trusted), written out: ``httpx2.create_ssl_context`` imports httpcore2,
    and with it anyio and httpcore2's whole pool, 0.1-0.2 s of CPU at every start that a
    direct scan never uses. tests/unit/test_ssl_context.py holds the two contexts equal (CAs,
    verification, protocol options) in each case below, with httpx2 as the oracle."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return _load_cas(cafile=cafile, named="SSL_CERT_FILE")
    if capath := os.environ.get("SSL_CERT_DIR"):
        return _load_cas(capath=capath, named="SSL_CERT_DIR")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # OpenSSL's compiled-in paths (set_default_verify_paths would read SSL_CERT_* again).
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if capath and not cafile and not any(
            re.fullmatch(r"[0-9a-fA-F]{8}\.\d", name) for name in os.listdir(capath)):
        capath = None  # a directory without OpenSSL's hashed names is no CA store
    if not cafile and not capath:
        cafile = next(filter(os.path.isfile, _CA_FILE_CANDIDATES), None)
    if cafile or capath:
        context.load_verify_locations(cafile, capath)
    return context


def make_http_client(*, ca_bundle: str | None = None,
                     transport: HttpTransportKind | None = None) -> httpx2.AsyncClient:
    """An HTTP client for Transports (a scan opens several: see scan_aws.PER_CLIENT_IN_FLIGHT).

    ``trust_env=True`` keeps HTTP(S)_PROXY / ALL_PROXY / NO_PROXY working (proxied URLs
    always use httpx2's transport). There is no httpx timeout: each attempt runs under a trio
    cancel scope instead. ``Accept-Encoding: identity`` as the AWS SDKs send: answers come
    uncompressed, so the body cap counts what is held in memory and no decompression runs.
    """
    context = ssl_context(ca_bundle)
    kind = transport or transport_kind()
    lean: LeanTransport | None = None
    mounts: dict[str, httpx2.AsyncBaseTransport | None] | None = None
    if kind is HttpTransportKind.LEAN:
        lean = LeanTransport(context)
        # Given a transport, httpx2 stops reading the proxy variables itself; so the same
        # reading of them (httpx2's own function: HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) mounts
        # httpx2's proxy transport on every URL pattern a proxy covers. A NO_PROXY pattern
        # maps to None: the default transport, the lean one.
        mounts = {
            pattern: None if url is None else httpx2.AsyncHTTPTransport(
                verify=context, trust_env=True, proxy=url, limits=_LIMITS)
            for pattern, url in get_environment_proxies().items()
        }
    client = httpx2.AsyncClient(
        http1=True,
        http2=False,
        verify=context,
        trust_env=True,
        timeout=httpx2.Timeout(None),
        follow_redirects=False,
        limits=_LIMITS,
        transport=lean,
        mounts=mounts,
        headers={"User-Agent": f"ekstrio/{__version__}", "Accept-Encoding": "identity"},
    )
    if lean is not None and all(proxy is None for proxy in (mounts or {}).values()):
        _DIRECT[client] = lean  # NO_PROXY alone mounts None: the lean transport again
    return client


def request_headers(method: str, host: bytes, headers: Iterable[tuple[str, str]],
                    content: bytes) -> list[tuple[bytes, bytes]]:
    """The header lines ``httpx2.Request(method, url, headers=headers, content=content)`` would
    write, in its order (a test holds the two equal), ``host`` being the URL's
    (``lean_http.Destination.host``): ``Host`` first unless given, then
    ``Content-Length: 0`` for a bodiless POST, PUT, PATCH or QUERY, then ``headers`` as given,
    then ``Content-Length`` of a non-empty ``content`` unless given. Names and values must be
    ASCII (``UnicodeEncodeError`` otherwise, as from httpx2). For the lean transport's
    ``send``."""
    lines = [(name.encode("ascii"), value.encode("ascii")) for name, value in headers]
    names = {name.lower() for name, _ in lines}
    framed = b"content-length" in names or b"transfer-encoding" in names
    if content and not framed:
        lines.append((b"Content-Length", str(len(content)).encode("ascii")))
        framed = True
    first: list[tuple[bytes, bytes]] = []
    if b"host" not in names and host:
        first.append((b"Host", host))
    if not framed and method in ("POST", "PUT", "PATCH", "QUERY"):
        first.append((b"Content-Length", b"0"))
    return first + lines if first else lines


def _refuse_declared(declared: int | None, limit: int, service: str) -> None:
    if declared is not None and declared > limit:
        raise ResponseTooLargeError(
            f"{service}: the answer says it is {declared:,} bytes, more than the "
            f"{limit:,} ekstrio reads; not read")


async def read_stream_capped(chunks: AsyncIterable[bytes], limit: int = MAX_BODY, *,
                             service: str, declared: int | None) -> bytes:
    """What :func:`read_capped` does, for a body stream whose answer declared ``declared``
    bytes (None: not said). The caller closes the stream."""
    _refuse_declared(declared, limit, service)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(
                f"{service}: the answer went past {limit:,} bytes, the most ekstrio reads "
                "(the endpoint may be broken or hostile); stopped reading")
        parts.append(chunk)
    return b"".join(parts)


async def read_capped(response: httpx2.Response, limit: int = MAX_BODY, *,
                      service: str) -> bytes:
    """The body of a streamed ``response``, or :class:`ResponseTooLargeError` past ``limit``
    bytes (checked against Content-Length first, then as the bytes arrive, so at most
    ``limit`` plus one chunk is ever held). The caller closes the response."""
    declared = response.headers.get("content-length")
    stream = response.stream
    chunks: AsyncIterable[bytes]
    if isinstance(stream, httpx2.AsyncByteStream) and "content-encoding" not in response.headers:
        # Nothing to decode (answers are asked for with Accept-Encoding: identity): the
        # transport's bytes as they come, without the decoder, chunker and context managers
        # that aiter_bytes sets up for each answer (about 2 % of a scan's CPU).
        chunks = stream
    else:
        chunks = response.aiter_bytes()
    return await read_stream_capped(
        chunks, limit, service=service,
        declared=int(declared) if declared is not None and declared.isdigit() else None)
