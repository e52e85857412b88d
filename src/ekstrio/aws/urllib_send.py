"""The lean driver of ``aws/``'s protocol code: one SSO call sent with ``urllib``.

``ekstrio token`` runs before every kubectl request and, when its caches cannot answer, makes
one or two calls (OIDC CreateToken to refresh the SSO token, the portal's GetRoleCredentials).
The requests, answer parsers, error parsing and endpoint-override order are the scan's own
(:mod:`.oidc`, :mod:`.portal`, :mod:`.wire`, :func:`.endpoints.configured_url`); only the
sending is here, with ``urllib`` because importing httpx2 costs about 100 ms more. Proxies
(``HTTP(S)_PROXY``, ``NO_PROXY``) and ``AWS_CA_BUNDLE`` are honoured, as the Transport does; one
attempt, no retry (kubectl retries the whole plugin), a fixed timeout.
"""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ekstrio.aws.eks_token import partition_and_suffix
from ekstrio.aws.endpoints import configured_url
from ekstrio.aws.wire import WireRequest, build_url, parse_error
from ekstrio.errors import ConfigError, ResponseTooLargeError, TransportError

PORTAL_TIMEOUT_S = 15.0

# The most of one answer read here: the same cap, for the same reasons, as the scan's
# (aws.http_client.MAX_BODY, not imported: it would pull httpx2 into kubectl's every call).
MAX_BODY = 1024 * 1024


def service_url(service: str, sso_region: str, env: Mapping[str, str]) -> str:
    """``sso`` / ``sso-oidc`` endpoint: the configured override (environment only: profile
    ``services`` sections are not read on this lean path), else the regional host."""
    override = configured_url(service, env=env)
    if override is not None:
        return override
    host = "portal.sso" if service == "sso" else "oidc"
    return f"https://{host}.{sso_region}.{partition_and_suffix(sso_region)[1]}"


def _read_capped(response: Any) -> bytes:
    """A urllib answer's body, or ResponseTooLargeError past MAX_BODY (never read further)."""
    body: bytes = response.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise ResponseTooLargeError(f"the answer went past {MAX_BODY:,} bytes, the most "
                                    "ekstrio reads (the endpoint may be broken or hostile)")
    return body


def _open(request: urllib.request.Request, env: Mapping[str, str]) -> Any:
    """urllib with HTTP(S)_PROXY / NO_PROXY from the environment (like httpx2 trust_env) and
    AWS_CA_BUNDLE; the caller closes the response."""
    bundle = env.get("AWS_CA_BUNDLE") or None
    try:
        context = ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError):
        raise ConfigError(f"AWS_CA_BUNDLE={bundle}: not a readable PEM file") from None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(),
                                         urllib.request.HTTPSHandler(context=context))
    if not debug_http:
        return opener.open(request, timeout=PORTAL_TIMEOUT_S)
    started = time.monotonic()
    try:
        response = opener.open(request, timeout=PORTAL_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        _log_http(request, f"status={exc.code}", exc.headers, time.monotonic() - started)
        raise
    _log_http(request, f"status={response.status}", response.headers,
              time.monotonic() - started)
    return response


# `ekstrio token --debug`: set by token_fast.main (the logging machinery is imported only then).
debug_http = False


def _log_http(request: urllib.request.Request, outcome: str, headers: Any,
              latency: float) -> None:
    """The --debug line of the Transport (ekstrio.aws.http_log), for urllib's calls."""
    from ekstrio.aws.http_log import log_attempt

    url = request.full_url
    wire = WireRequest(method=request.get_method(), path=urlsplit(url).path)
    service = "sso-oidc" if wire.path == "/token" else "sso"
    log_attempt(wire, url, service=service, outcome=outcome, number=1, wait=0.0,
                latency=latency, request_id=headers.get("x-amzn-requestid"))


def send(base_url: str, request: WireRequest, env: Mapping[str, str]) -> bytes:
    """Send ``request`` with urllib and return the body of a 2xx answer; an error answer is
    raised as aws/wire parses it (AwsError subclasses), a failed connection as TransportError.
    """
    headers = {"User-Agent": "ekstrio-token", "Accept": "application/json",
               **dict(request.headers)}
    message = urllib.request.Request(  # noqa: S310 (configured_url checked the scheme)
        build_url(base_url, request), data=request.body, method=request.method,
        headers=headers)
    try:
        with _open(message, env) as response:
            return _read_capped(response)
    except urllib.error.HTTPError as exc:
        raise parse_error(exc.code, dict(exc.headers.items()), _read_capped(exc),
                          service="sso") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransportError(f"cannot reach the SSO portal: {reason}") from None
