"""``ekstrio token``: the exec plugin kubectl runs before every request.

It prints an ExecCredential holding a ``k8s-aws-v1.`` token and must cost almost nothing, so it
is routed here by ``ekstrio.__main__`` before cyclopts is imported, parses its own small argv and
imports only the standard library on the cached path:

* **cached**: the ExecCredential is kept per (cluster, region, account, role, SSO session) in a
  0600 file under ``$XDG_CACHE_HOME/ekstrio/tokens/`` until one minute before it expires;
* **cold**: role credentials come from the role-credential cache (``ekstrio.aws.token_cache``,
  the AWS CLI's format) or, failing that, from the portal's GetRoleCredentials called with the
  cached SSO token over ``urllib`` (about 100 ms lighter to import than httpx2), with the
  requests, answers and errors of ``ekstrio.aws`` (its pure parts import no HTTP client); the
  token is then presigned by the pure SigV4 signer (:mod:`ekstrio.aws.eks_token`).

When sign-in is needed it prints ONE line on stderr naming the command to run and exits 3; bad
arguments print one line and exit 2. Tokens never appear on stderr.

``EKSTRIO_STS_ENDPOINT_FOR_TOKENS`` (tests and demos only) replaces the STS host inside the token
so that the local emulator can verify it; real EKS rejects such tokens, and
``AWS_ENDPOINT_URL_STS`` is deliberately ignored for that reason.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta

from ekstrio import exec_cache
from ekstrio.aws.timestamps import format_timestamp
from ekstrio.errors import (
    AuthError,
    AwsError,
    ConfigError,
    EkstrioError,
    ExitCode,
    ResponseTooLargeError,
    TransportError,
    UsageError,
)

# Every import here runs before each kubectl request: typing, dataclasses (which pulls in
# inspect), pathlib and contextlib cost a few ms each, so the cached path does without them and
# mypy reads this constant (it treats any name TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from ekstrio.aws.token_cache import CachedToken
    from ekstrio.aws.wire import WireRequest
    from ekstrio.model import RoleCredentials, SsoSession

API_V1 = "client.authentication.k8s.io/v1"
API_V1BETA1 = "client.authentication.k8s.io/v1beta1"
API_V1ALPHA1 = "client.authentication.k8s.io/v1alpha1"

# aws.eks_token.STS_OVERRIDE_ENV, spelled out: importing eks_token (and its signer) would cost
# the cached path; tests/unit/test_eks_token.py checks the two agree.
STS_OVERRIDE_ENV = "EKSTRIO_STS_ENDPOINT_FOR_TOKENS"
# Role credentials must outlive the token signed with them (15 min of validity at EKS).
CREDS_MARGIN = timedelta(minutes=15)
# An SSO token this close to expiry is refreshed (when it can be) before calling the portal.
SSO_MARGIN = timedelta(minutes=1)
PORTAL_TIMEOUT_S = 15.0

USAGE = (
    "usage: ekstrio token --cluster NAME --region REGION --account ID --role ROLE "
    "(--sso-session NAME | --start-url URL --sso-region REGION) [--cluster-id ID] [--no-cache]"
)


class TokenArgs:
    """What identifies one cluster's token: the cluster and the SSO identity that signs it.

    A plain slotted class rather than a frozen dataclass only to keep ``dataclasses`` off the
    cached path; treat it as immutable.
    """

    __slots__ = ("account_id", "cluster", "cluster_id", "region", "role", "sso_region",
                 "sso_session", "start_url", "use_cache")

    def __init__(self, *, cluster: str, region: str, account_id: str, role: str,
                 sso_session: str | None = None, start_url: str | None = None,
                 sso_region: str | None = None, cluster_id: str | None = None,
                 use_cache: bool = True) -> None:
        self.cluster = cluster
        self.region = region
        self.account_id = account_id
        self.role = role
        self.sso_session = sso_session
        self.start_url = start_url
        self.sso_region = sso_region
        self.cluster_id = cluster_id
        self.use_cache = use_cache

    def __repr__(self) -> str:
        return (f"TokenArgs(cluster={self.cluster!r}, region={self.region!r}, "
                f"account_id={self.account_id!r}, role={self.role!r})")

    @property
    def login_hint(self) -> str:
        if self.sso_session:
            return f"ekstrio login --sso-session {self.sso_session}"
        return f"ekstrio login --start-url {self.start_url} --sso-region {self.sso_region}"


_FLAGS = {
    "--cluster": "cluster", "--cluster-name": "cluster", "--region": "region",
    "--account": "account_id", "--account-id": "account_id", "--role": "role",
    "--role-name": "role", "--sso-session": "sso_session", "--start-url": "start_url",
    "--sso-region": "sso_region", "--cluster-id": "cluster_id",
}


def parse_args(argv: Sequence[str]) -> TokenArgs:
    """Parse ``--flag value`` / ``--flag=value`` pairs; raise UsageError naming what to fix."""
    values: dict[str, str] = {}
    use_cache = True
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--no-cache":
            use_cache = False
            i += 1
            continue
        flag, eq, inline = item.partition("=")
        if flag not in _FLAGS:
            raise UsageError(f"ekstrio token: unknown argument {item!r}; {USAGE}")
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(items):
                raise UsageError(f"ekstrio token: {flag} needs a value")
            value = items[i + 1]
            i += 2
        if not value:
            raise UsageError(f"ekstrio token: {flag} needs a non-empty value")
        values[_FLAGS[flag]] = value
    missing = [f"--{n}" for n, key in (("cluster", "cluster"), ("region", "region"),
                                       ("account", "account_id"), ("role", "role"))
               if key not in values]
    if missing:
        raise UsageError(f"ekstrio token: missing {', '.join(missing)}; {USAGE}")
    if "sso_session" not in values and not ("start_url" in values and "sso_region" in values):
        raise UsageError("ekstrio token: give --sso-session NAME, or --start-url URL "
                         "with --sso-region REGION")
    return TokenArgs(use_cache=use_cache, **values)


def exec_api_version(env: Mapping[str, str]) -> tuple[str, str | None]:
    """The ExecCredential apiVersion kubectl asked for, and a warning to print, if any."""
    raw = env.get("KUBERNETES_EXEC_INFO")
    if not raw:
        return API_V1BETA1, None
    try:
        info = json.loads(raw)
        asked = info.get("apiVersion") if isinstance(info, dict) else None
    except ValueError:
        return API_V1BETA1, "ekstrio token: KUBERNETES_EXEC_INFO is not JSON; using v1beta1"
    if asked in (API_V1, API_V1BETA1):
        return str(asked), None
    if asked == API_V1ALPHA1:
        return API_V1ALPHA1, ("ekstrio token: client.authentication.k8s.io/v1alpha1 is "
                              "deprecated; use v1beta1 or v1 in your kubeconfig")
    return API_V1BETA1, None


def exec_credential(api_version: str, token: str, expires_at: datetime) -> str:
    """The ExecCredential JSON document kubectl reads from stdout."""
    return json.dumps({
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {},
        "status": {"expirationTimestamp": format_timestamp(expires_at), "token": token},
    })


# --- the cached ExecCredential -------------------------------------------------------------

def cache_path(args: TokenArgs, env: Mapping[str, str]) -> str:
    """One file per identity; the STS override is part of the key so emulator tokens and real
    ones never share a file."""
    return exec_cache.entry_path({
        "cluster": args.cluster, "cluster_id": args.cluster_id, "region": args.region,
        "account": args.account_id, "role": args.role, "sso_session": args.sso_session,
        "start_url": args.start_url, "sso_region": args.sso_region,
        "sts": env.get(STS_OVERRIDE_ENV) or None,
    }, env)


# --- role credentials --------------------------------------------------------------------------
# The protocol (requests, answers, errors, endpoint overrides) is aws/'s pure code; this path
# only sends with urllib, which costs ~100 ms less to import than httpx2.

def sso_session_of(args: TokenArgs, sso_region: str | None = None) -> SsoSession:
    from ekstrio.model import SsoSession

    return SsoSession(start_url=args.start_url or "",
                      region=args.sso_region or sso_region or "", name=args.sso_session)


def service_url(service: str, sso_region: str, env: Mapping[str, str]) -> str:
    """``sso`` / ``sso-oidc`` endpoint: the configured override (environment only: profile
    ``services`` sections are not read on this lean path), else the regional host."""
    from ekstrio.aws.eks_token import partition_and_suffix
    from ekstrio.aws.endpoints import configured_url

    override = configured_url(service, env=env)
    if override is not None:
        return override
    host = "portal.sso" if service == "sso" else "oidc"
    return f"https://{host}.{sso_region}.{partition_and_suffix(sso_region)[1]}"


# The most of one answer read here: the same cap, for the same reasons, as the scan's
# (aws.http_client.MAX_BODY, not imported: it would pull httpx2 into kubectl's every call).
MAX_BODY = 1024 * 1024


def _read_capped(response: Any) -> bytes:
    """A urllib answer's body, or ResponseTooLargeError past MAX_BODY (never read further)."""
    body: bytes = response.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise ResponseTooLargeError(f"the answer went past {MAX_BODY:,} bytes, the most "
                                    "ekstrio reads (the endpoint may be broken or hostile)")
    return body


def _open(request: Any, env: Mapping[str, str]) -> Any:
    """urllib with HTTP(S)_PROXY / NO_PROXY from the environment (like httpx2 trust_env) and
    AWS_CA_BUNDLE; the caller closes the response."""
    import ssl
    import urllib.request

    bundle = env.get("AWS_CA_BUNDLE") or None
    try:
        context = ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError):
        raise ConfigError(f"AWS_CA_BUNDLE={bundle}: not a readable PEM file") from None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(),
                                         urllib.request.HTTPSHandler(context=context))
    if not _debug:
        return opener.open(request, timeout=PORTAL_TIMEOUT_S)
    import time
    import urllib.error

    started = time.monotonic()
    try:
        response = opener.open(request, timeout=PORTAL_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        _log_http(request, f"status={exc.code}", exc.headers, time.monotonic() - started)
        raise
    _log_http(request, f"status={response.status}", response.headers,
              time.monotonic() - started)
    return response


# `token --debug` (or -v/-vv): set by main(); logging is imported only then.
_debug = False


def _log_http(request: Any, outcome: str, headers: Any, latency: float) -> None:
    """The --debug line of the Transport (ekstrio.aws.http_log), for urllib's calls."""
    from urllib.parse import urlsplit

    from ekstrio.aws.http_log import log_attempt
    from ekstrio.aws.wire import WireRequest

    url = request.full_url
    wire = WireRequest(method=request.get_method(), path=urlsplit(url).path)
    service = "sso-oidc" if wire.path == "/token" else "sso"
    log_attempt(wire, url, service=service, outcome=outcome, number=1, wait=0.0,
                latency=latency, request_id=headers.get("x-amzn-requestid"))


def send(base_url: str, request: WireRequest, env: Mapping[str, str]) -> bytes:
    """Send ``request`` with urllib and return the body of a 2xx answer; an error answer is
    raised as aws/wire parses it (AwsError subclasses), a failed connection as TransportError.
    """
    import urllib.error
    import urllib.request

    from ekstrio.aws.wire import build_url, parse_error

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


def refresh_sso_token(args: TokenArgs, session: SsoSession, env: Mapping[str, str],
                      now: datetime) -> CachedToken | None:
    """OIDC CreateToken(grant refresh_token), like botocore; None when it does not work.

    Several kubectl calls may start at once: the refresh runs under a lock on the token file
    and re-reads it first, so only one process spends the refresh token (which may rotate).
    """
    import contextlib
    import dataclasses

    from ekstrio.aws import oidc, token_cache
    from ekstrio.aws.wire import parse_json_body
    from ekstrio.fileio import exclusive_lock

    with exclusive_lock(token_cache.token_path(session)):
        sso = token_cache.load_sso_token(session)
        if sso is None or sso.remaining(now) > SSO_MARGIN:
            return sso  # another process refreshed it meanwhile (or it is gone)
        if not sso.can_refresh(now):
            return None
        request = oidc.refresh_token_request(sso.client_id or "", sso.client_secret or "",
                                             sso.refresh_token or "")
        try:
            base = service_url("sso-oidc", sso.region or args.sso_region or "", env)
            grant = oidc.parse_token(parse_json_body(send(base, request, env),
                                                     service="sso-oidc"), now=now)
        except (AwsError, TransportError):
            return None  # botocore keeps the old token on failure; the caller asks to sign in
        # This path keeps the old refresh token when the answer has none (TokenProvider
        # drops it, as botocore does): both behaviours are pinned by tests.
        refreshed = dataclasses.replace(
            sso, access_token=grant.access_token, expires_at=grant.expires_at,
            refresh_token=grant.refresh_token or sso.refresh_token)
        with contextlib.suppress(EkstrioError, OSError):  # it still serves this call
            token_cache.save_sso_token(session, refreshed)
        return refreshed


def fetch_role_credentials(args: TokenArgs, access_token: str, sso_region: str,
                           env: Mapping[str, str]) -> RoleCredentials:
    """GetRoleCredentials (aws/portal's request and parser) sent with urllib."""
    from ekstrio.aws import portal
    from ekstrio.aws.wire import parse_json_body

    request = portal.get_role_credentials_request(access_token, args.account_id, args.role)
    try:
        body = send(service_url("sso", sso_region, env), request, env)
    except AwsError as exc:
        if exc.status == 401 or exc.code == "UnauthorizedException":
            raise AuthError(f"the SSO sign-in has expired or was revoked; run: "
                            f"{args.login_hint}") from None
        raise
    return portal.parse_role_credentials(parse_json_body(body, service="sso"))


def role_credentials(args: TokenArgs, env: Mapping[str, str], now: datetime) -> RoleCredentials:
    """Cached role credentials when they outlive a token, else fresh ones from the portal."""
    import contextlib

    from ekstrio.aws import token_cache

    session = sso_session_of(args)
    cached: RoleCredentials | None = token_cache.load_role_credentials(
        session, args.account_id, args.role)
    if cached is not None and cached.expiration - CREDS_MARGIN > now:
        return cached
    sso = token_cache.load_sso_token(session)
    if sso is not None and sso.remaining(now) <= SSO_MARGIN and sso.can_refresh(now):
        sso = refresh_sso_token(args, session, env, now)
    if sso is None or sso.remaining(now) <= SSO_MARGIN:
        raise AuthError(f"sign-in needed for this cluster; run: {args.login_hint}")
    access_token = sso.access_token
    sso_region = args.sso_region or sso.region or ""
    if not sso_region:
        raise AuthError(f"the cached SSO token has no region; run: {args.login_hint}")
    creds = fetch_role_credentials(args, access_token, sso_region, env)
    with contextlib.suppress(EkstrioError):  # failing to cache must not fail kubectl
        token_cache.save_role_credentials(session, args.account_id, args.role, creds)
    return creds


# --- the command -----------------------------------------------------------------------------

def produce(args: TokenArgs, env: Mapping[str, str], now: datetime) -> tuple[str, datetime]:
    """A token and its expiry: from the cache when fresh, else newly signed (and cached)."""
    path = cache_path(args, env)
    if args.use_cache:
        hit = exec_cache.load_cached(path, now)
        if hit is not None:
            return hit
    creds = role_credentials(args, env, now)
    from ekstrio.aws.eks_token import presign

    signed = presign(creds, args.cluster_id or args.cluster, args.region,
                     endpoint_url=env.get(STS_OVERRIDE_ENV) or None)
    exec_cache.save_cached(path, signed.token, signed.expires_at,
                           args.sso_session or args.start_url)
    return signed.token, signed.expires_at


def main(argv: list[str]) -> int:
    """Run ``ekstrio token ARGS``: ExecCredential on stdout, one line on stderr on failure."""
    global _debug
    env = os.environ
    if {"-v", "-vv", "--verbose", "--debug"} & set(argv):
        from ekstrio import logs

        verbosity, argv = logs.split_flags(argv)
        logs.configure(verbosity)
        _debug = verbosity.http
    try:
        args = parse_args(argv)
        api_version, warning = exec_api_version(env)
        if warning:
            sys.stderr.write(warning + "\n")
        token, expires_at = produce(args, env, datetime.now(UTC))
    except EkstrioError as exc:
        text = str(exc)
        line = text if text.startswith("ekstrio") else f"ekstrio token: {text}"
        sys.stderr.write(line.splitlines()[0] if line else "ekstrio token: failed")
        sys.stderr.write("\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    sys.stdout.write(exec_credential(api_version, token, expires_at) + "\n")
    sys.stdout.flush()
    return ExitCode.OK
