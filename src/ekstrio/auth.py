"""Which SSO token to use, keeping it fresh, and the sign-in / sign-out flows.

- :func:`resolve` picks the session from flags, environment and ``~/.aws/config``.
- :class:`TokenProvider` hands out the cached access token and refreshes it
  inside botocore's windows, at most one refresh at a time.
- :func:`login_pkce` (authorization code + PKCE with a loopback redirect on
  127.0.0.1) and :func:`login_device` (device code) sign in and cache the
  token where the AWS CLI keeps it; :func:`logout` signs out and cleans up.

Prompts go to the ``stderr`` stream passed in; nothing here prints a secret.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import parse_qs, urlsplit

import trio

from ekstrio import aws_config
from ekstrio.aws import endpoints, oidc, portal
from ekstrio.aws import token_cache as tc
from ekstrio.aws.token_cache import CachedRegistration, CachedToken
from ekstrio.errors import AuthError, AwsError, FileWriteError, TransportError
from ekstrio.model import SsoSession

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport

__all__ = [
    "ADVISORY_REFRESH",
    "MANDATORY_REFRESH",
    "CallbackResult",
    "LogoutResult",
    "TokenProvider",
    "browser_available",
    "login_device",
    "login_hint",
    "login_pkce",
    "logout",
    "oidc_endpoint",
    "parse_callback",
    "portal_endpoint",
    "resolve",
]

log = logging.getLogger(__name__)

# botocore's windows (tokens.DeferredRefreshableToken): under 15 min left a
# refresh is attempted without blocking others; under 10 min everyone waits
# for it; at most one attempt per 60 s.
ADVISORY_REFRESH = timedelta(minutes=15)
MANDATORY_REFRESH = timedelta(minutes=10)
REFRESH_ATTEMPT_INTERVAL = 60.0
# A cached registration is reused until 15 min before it expires (AWS CLI).
REGISTRATION_MARGIN = timedelta(minutes=15)
# How long the PKCE flow waits for the browser to come back (AWS CLI: 600 s).
BROWSER_WAIT_S = 600.0
# One loopback connection may take this long to send its request line; a
# browser's idle pre-connect must not hold the callback server.
CALLBACK_READ_S = 10.0
# After the callback, how long to let a still-running browser launcher finish.
OPENER_GRACE_S = 5.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- choosing the session and its endpoints ----------------------------------------------------


def resolve(
    *,
    profile: str | None = None,
    sso_session: str | None = None,
    start_url: str | None = None,
    sso_region: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[aws_config.AwsConfig, SsoSession]:
    """Read the config and pick the session (see :func:`aws_config.resolve_session`).

    The returned config has ``profile`` chosen, so its ``endpoint_url``,
    ``services`` and ``ca_bundle`` are that profile's.
    """
    env = os.environ if env is None else env
    cfg = aws_config.load(env=env).with_profile(profile)
    session = aws_config.resolve_session(cfg, start_url=start_url, sso_region=sso_region,
                                         sso_session=sso_session, profile=profile, env=env)
    return cfg, session


def oidc_endpoint(session: SsoSession, cfg: aws_config.AwsConfig | None = None) -> Endpoint:
    return _endpoint("sso-oidc", session, cfg)


def portal_endpoint(session: SsoSession, cfg: aws_config.AwsConfig | None = None) -> Endpoint:
    return _endpoint("sso", session, cfg)


def _endpoint(service: str, session: SsoSession, cfg: aws_config.AwsConfig | None) -> Endpoint:
    if cfg is None:
        return endpoints.resolve(service, session.region)
    return endpoints.resolve(service, session.region, env=cfg.env,
                             config_endpoint_url=cfg.endpoint_url,
                             config_services=cfg.services)


def login_hint(session: SsoSession, *, profile: str | None = None) -> str:
    """The exact command that signs this session in again."""
    if session.name is not None:
        return f"ekstrio login --sso-session {session.name}"
    if profile:
        return f"ekstrio login --profile {profile}"
    return f"ekstrio login --start-url {session.start_url} --sso-region {session.region}"


# -- the token provider -----------------------------------------------------------------------


class TokenProvider:
    """The session's access token, refreshed like botocore does it.

    The cached token is kept in memory and re-read from disk only when it is
    inside the refresh window (another process, ``aws sso login`` say, may
    have renewed it). Refreshing uses CreateToken(grant ``refresh_token``)
    and needs an sso-session token with refreshToken, clientId/Secret and a
    live registration; legacy sessions are never refreshed.
    """

    def __init__(
        self,
        session: SsoSession,
        transport: Transport,
        *,
        cache_dir: Path | None = None,
        endpoint: Endpoint | None = None,
        profile: str | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.session = session
        self._transport = transport
        self._cache_dir = cache_dir
        self._endpoint = endpoint
        self._profile = profile
        self._now = now
        self._token: CachedToken | None = None
        # Single flight: whoever holds the lock refreshes; the others either
        # wait for its result (mandatory window) or go on with the current
        # token (advisory window), exactly as botocore's threads do.
        self._lock = trio.Lock()
        self._next_attempt = -float("inf")  # trio.current_time() of the next allowed refresh
        self.refreshes = 0  # successful refreshes, for tests and stats

    @property
    def hint(self) -> str:
        return login_hint(self.session, profile=self._profile)

    def _load(self) -> CachedToken | None:
        return tc.load_sso_token(self.session, self._cache_dir)

    def _expired_error(self) -> AuthError:
        return AuthError(f"the IAM Identity Center sign-in for {self._label()} has expired; "
                         f"run: {self.hint}")

    def _label(self) -> str:
        if self.session.name is not None:
            return f"sso-session {self.session.name}"
        return self.session.start_url

    async def token(self) -> CachedToken:
        """The token to use now (refreshed if needed); AuthError if there is none usable."""
        token = self._token
        if token is None:
            token = self._token = self._load()
            if token is None:
                raise AuthError(f"not signed in to {self._label()}; run: {self.hint}")
        remaining = token.remaining(self._now())
        if remaining > ADVISORY_REFRESH:
            return token
        mandatory = remaining <= MANDATORY_REFRESH
        if not mandatory and self._lock.locked():
            # Advisory window and someone else is refreshing: keep going.
            return token
        async with self._lock:
            token = await self._refresh_locked()
        if token.is_expired(self._now()):
            raise self._expired_error()
        return token

    async def access_token(self) -> str:
        return (await self.token()).access_token

    async def _refresh_locked(self) -> CachedToken:
        # Another task (or process, `aws sso login` say) may have renewed the token while we
        # waited: take whichever of the file's and ours lasts longer.
        token = self._token
        on_disk = self._load()
        if on_disk is not None and (token is None or on_disk.expires_at >= token.expires_at):
            token = on_disk
        if token is None:
            raise AuthError(f"not signed in to {self._label()}; run: {self.hint}")
        self._token = token
        now = self._now()
        if token.remaining(now) > ADVISORY_REFRESH:
            return token
        if self.session.name is None or not token.can_refresh(now):
            return token
        clock = trio.current_time()
        if clock < self._next_attempt:
            return token
        self._next_attempt = clock + REFRESH_ATTEMPT_INTERVAL
        try:
            token = await self._refresh(token)
        except (AwsError, TransportError) as exc:
            # Like botocore: keep the old token; the caller fails only if it has expired.
            log.warning("refreshing the SSO token of %s failed: %s", self._label(), exc)
            return token
        self._token = token
        self.refreshes += 1
        return token

    async def _refresh(self, token: CachedToken) -> CachedToken:
        # can_refresh() checked these; the `or ""` only narrows the types.
        request = oidc.refresh_token_request(token.client_id or "", token.client_secret or "",
                                             token.refresh_token or "")
        endpoint = self._endpoint or oidc_endpoint(self.session)
        grant = await oidc.create_token(self._transport, endpoint, request, now=self._now())
        # botocore keeps refreshToken only when the answer carries a new one.
        renewed = replace(token, access_token=grant.access_token, expires_at=grant.expires_at,
                          refresh_token=grant.refresh_token,
                          start_url=self.session.start_url, region=self.session.region)
        try:
            tc.save_sso_token(self.session, renewed, self._cache_dir)
        except FileWriteError as exc:
            # The new token is good for this run even if the cache cannot take it.
            log.warning("could not cache the refreshed SSO token: %s", exc)
        else:
            log.info("refreshed the SSO token of %s", self._label())
        return renewed


# -- sign-in: shared pieces -------------------------------------------------------------------


def browser_available(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """False in an SSH session or on Linux without a display: use the device flow there."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY"):
        return False
    return not (platform.startswith("linux")
                and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"))


def _client_name(session: SsoSession) -> str:
    if session.name is not None:
        return f"ekstrio-{session.name}"
    return f"ekstrio-{int(time.time())}"


async def _registration(
    t: Transport, endpoint: Endpoint, session: SsoSession, *, pkce: bool,
    cache_dir: Path | None, now: datetime, fresh: bool = False,
) -> CachedRegistration:
    """A cached registration fit for the flow, else (or when ``fresh``) a new one, cached."""
    cached = None if fresh else tc.load_registration(session, cache_dir)
    if cached is not None:
        if pkce and cached.usable(now=now, margin=REGISTRATION_MARGIN,
                                  grant_type=oidc.GRANT_AUTHORIZATION_CODE):
            return cached
        # A device-flow registration is one without grantTypes (as the CLI
        # registers) or one that lists the device grant.
        if not pkce and cached.usable(now=now, margin=REGISTRATION_MARGIN) and (
                not cached.grant_types or oidc.GRANT_DEVICE_CODE in cached.grant_types):
            return cached
    try:
        if pkce:
            registration = await oidc.register_client(
                t, endpoint, _client_name(session),
                scopes=session.scopes or oidc.DEFAULT_SCOPES,
                grant_types=(oidc.GRANT_AUTHORIZATION_CODE, oidc.GRANT_REFRESH_TOKEN),
                redirect_uris=(oidc.REDIRECT_URI,),
                issuer_url=session.start_url)
        else:
            # An sso-session asks for scopes (default sso:account:access) so that its token
            # comes with a refresh token; a legacy session gets the plain, fixed-length
            # 8 h registration the AWS CLI makes for it.
            scopes = session.scopes or (oidc.DEFAULT_SCOPES if session.name is not None else ())
            registration = await oidc.register_client(t, endpoint, _client_name(session),
                                                      scopes=scopes)
    except AwsError as exc:
        raise AuthError(f"IAM Identity Center refused to register ekstrio as a client: "
                        f"{exc}") from exc
    tc.save_registration(session, registration, cache_dir)
    return registration


def _save_login(
    session: SsoSession, registration: CachedRegistration, grant: oidc.TokenGrant,
    cache_dir: Path | None,
) -> CachedToken:
    previous = tc.load_sso_token(session, cache_dir)
    token = CachedToken(
        access_token=grant.access_token,
        expires_at=grant.expires_at,
        region=session.region,
        start_url=session.start_url,
        refresh_token=grant.refresh_token,
        client_id=registration.client_id,
        client_secret=registration.client_secret,
        registration_expires_at=registration.expires_at,
        # Unknown fields another tool put in the file survive a new sign-in.
        raw=previous.raw if previous is not None else {},
    )
    tc.save_sso_token(session, token, cache_dir)
    return token


Opener = Callable[[str], object]


async def _open(url: str, opener: Opener | None) -> None:
    # Looked up now, not at import, so that tests can stand in for the browser.
    # webbrowser.open may block (it can start a process and wait for it).
    await trio.to_thread.run_sync(opener or webbrowser.open, url, abandon_on_cancel=True)


# -- sign-in: authorization code + PKCE --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallbackResult:
    code: str | None = None
    error: str | None = None
    error_description: str | None = None

    def __repr__(self) -> str:
        return f"CallbackResult(code={'…' if self.code else None}, error={self.error!r})"


def parse_callback(target: str, expected_state: str) -> tuple[int, CallbackResult | None]:
    """An HTTP request target on the loopback server → (status to answer, result or None).

    None means "not the callback we wait for" (a favicon, a stray request,
    a wrong ``state``): answer and keep waiting.
    """
    parts = urlsplit(target)
    if parts.path != oidc.CALLBACK_PATH:
        return 404, None
    query = parse_qs(parts.query)

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    state = first("state") or ""
    # Constant-time: the state is what ties this redirect to our request.
    if not hmac.compare_digest(state.encode(), expected_state.encode()):
        return 400, None
    error = first("error")
    if error:
        return 200, CallbackResult(error=error, error_description=first("error_description"))
    code = first("code")
    if not code:
        return 400, None
    return 200, CallbackResult(code=code)


_PAGES = {
    200: "Signed in. You can close this tab and return to the terminal.",
    400: "This sign-in link is not valid (state mismatch); start again from the terminal.",
    404: "Not found.",
}


async def _answer(stream: trio.SocketStream, status: int, text: str) -> None:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    body = (f"<!doctype html><meta charset='utf-8'><title>ekstrio</title>"
            f"<p>{text}</p>").encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    await stream.send_all(head + body)


async def _read_request_target(stream: trio.SocketStream) -> str | None:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 16384:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    words = line.split(" ")
    if len(words) != 3 or words[0] != "GET":
        return None
    return words[1]


async def wait_for_callback(
    listeners: list[trio.SocketListener], expected_state: str
) -> CallbackResult:
    """Serve the loopback redirect until the callback with our ``state`` arrives."""
    found: list[CallbackResult] = []

    async with trio.open_nursery() as nursery:

        async def handle(stream: trio.SocketStream) -> None:
            try:
                async with stream:
                    with trio.move_on_after(CALLBACK_READ_S):
                        target = await _read_request_target(stream)
                        if target is None:
                            return
                        status, result = parse_callback(target, expected_state)
                        await _answer(stream, status, _PAGES[status])
                        if result is not None and not found:
                            found.append(result)
                            nursery.cancel_scope.cancel()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                # A browser that hangs up early is not our failure; keep serving.
                return

        nursery.start_soon(trio.serve_listeners, handle, listeners)
    return found[0]


async def open_loopback() -> tuple[list[trio.SocketListener], int]:
    """Listen on 127.0.0.1 (only), on a free port."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    return listeners, int(port)


async def login_pkce(
    session: SsoSession,
    t: Transport,
    *,
    endpoint: Endpoint,
    stderr: TextIO,
    open_browser: bool = True,
    opener: Opener | None = None,
    cache_dir: Path | None = None,
    now: Callable[[], datetime] = _utc_now,
    hint: str | None = None,
) -> CachedToken:
    """Authorization code + PKCE: the browser signs in and comes back to 127.0.0.1."""
    again = hint or login_hint(session)
    registration = await _registration(t, endpoint, session, pkce=True, cache_dir=cache_dir,
                                       now=now())
    verifier = oidc.make_code_verifier()
    state = oidc.make_state()
    listeners, port = await open_loopback()
    redirect_uri = f"http://127.0.0.1:{port}{oidc.CALLBACK_PATH}"
    url = oidc.authorize_url(endpoint.url, client_id=registration.client_id,
                             redirect_uri=redirect_uri, state=state,
                             challenge=oidc.code_challenge(verifier),
                             scopes=session.scopes or oidc.DEFAULT_SCOPES)
    result: CallbackResult | None = None
    try:
        with trio.move_on_after(BROWSER_WAIT_S):
            async with trio.open_nursery() as nursery:
                opened = trio.Event()

                async def serve() -> None:
                    nonlocal result
                    result = await wait_for_callback(listeners, state)
                    # Let the browser launcher return (it normally has), but do
                    # not hang on one that blocks until the browser exits.
                    with trio.move_on_after(OPENER_GRACE_S):
                        await opened.wait()
                    nursery.cancel_scope.cancel()

                # Serve first: the browser may come back before webbrowser.open returns.
                nursery.start_soon(serve)
                if open_browser:
                    print(f"Opening the sign-in page in your browser. If it does not open, "
                          f"visit:\n  {url}", file=stderr)
                    await _open(url, opener)
                else:
                    print(f"Open this URL in a browser on this machine to sign in:\n  {url}",
                          file=stderr)
                opened.set()
                print("Waiting for the browser to finish signing in…", file=stderr)
    finally:
        for listener in listeners:
            await listener.aclose()
    if result is None:
        raise AuthError(f"the browser did not come back within {BROWSER_WAIT_S:.0f} s; "
                        f"run: {again}")
    if result.error:
        detail = f" ({result.error_description})" if result.error_description else ""
        if result.error == "access_denied":
            raise AuthError(f"sign-in was denied in the browser{detail}")
        raise AuthError(f"sign-in failed in the browser: {result.error}{detail}; run: {again}")
    assert result.code is not None  # noqa: S101  (parse_callback guarantees it)
    try:
        grant = await oidc.create_token(
            t, endpoint,
            oidc.authorization_code_request(registration.client_id, registration.client_secret,
                                            code=result.code, redirect_uri=redirect_uri,
                                            code_verifier=verifier),
            now=now())
    except AwsError as exc:
        kind = oidc.oauth_error(exc)
        if kind == "expired_token":
            raise AuthError(f"the sign-in expired before it was completed; run: {again}") from exc
        if kind == "access_denied":
            raise AuthError("sign-in was denied") from exc
        raise AuthError(f"IAM Identity Center refused the sign-in: {exc}; run: {again}") from exc
    return _save_login(session, registration, grant, cache_dir)


# -- sign-in: device code ------------------------------------------------------------------------


async def login_device(
    session: SsoSession,
    t: Transport,
    *,
    endpoint: Endpoint,
    stderr: TextIO,
    open_browser: bool = True,
    opener: Opener | None = None,
    cache_dir: Path | None = None,
    now: Callable[[], datetime] = _utc_now,
    hint: str | None = None,
) -> CachedToken:
    """Device code: the user approves a code in any browser while we poll CreateToken."""
    again = hint or login_hint(session)
    registration = await _registration(t, endpoint, session, pkce=False, cache_dir=cache_dir,
                                       now=now())
    try:
        try:
            device = await oidc.start_device_authorization(t, endpoint, registration,
                                                           session.start_url)
        except AwsError as exc:
            if oidc.oauth_error(exc) != "invalid_client":
                raise
            # The cached registration is unknown to the service (deleted, or made for
            # another IAM Identity Center instance at the same address): register anew, once.
            registration = await _registration(t, endpoint, session, pkce=False,
                                               cache_dir=cache_dir, now=now(), fresh=True)
            device = await oidc.start_device_authorization(t, endpoint, registration,
                                                           session.start_url)
    except AwsError as exc:
        raise AuthError(f"IAM Identity Center refused to start the sign-in: {exc}") from exc
    print(f"To sign in, open {device.verification_uri} and enter the code:\n\n"
          f"  {device.user_code}\n", file=stderr)
    if open_browser and device.verification_uri_complete:
        print(f"(Opening {device.verification_uri_complete} in your browser.)", file=stderr)
        await _open(device.verification_uri_complete, opener)
    request = oidc.device_code_request(registration.client_id, registration.client_secret,
                                       device.device_code)
    interval = device.interval
    grant: oidc.TokenGrant | None = None
    # Stop at expiresIn: after that the code cannot be approved any more.
    with trio.move_on_after(device.expires_in):
        while True:
            try:
                grant = await oidc.create_token(t, endpoint, request, now=now())
                break
            except AwsError as exc:
                kind = oidc.oauth_error(exc)
                if kind == "authorization_pending":
                    pass
                elif kind == "slow_down":
                    interval += 5  # RFC 8628 §3.5, as the AWS CLI does
                elif kind == "expired_token":
                    raise AuthError(f"the sign-in code {device.user_code} expired before it "
                                    f"was approved; run: {again}") from exc
                elif kind == "access_denied":
                    raise AuthError(f"sign-in with code {device.user_code} was denied") from exc
                else:
                    raise AuthError(f"IAM Identity Center refused the sign-in: {exc}; "
                                    f"run: {again}") from exc
            await trio.sleep(interval)
    if grant is None:
        raise AuthError(f"the sign-in code {device.user_code} was not approved within "
                        f"{device.expires_in} s; run: {again}")
    return _save_login(session, registration, grant, cache_dir)


# -- sign-out -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogoutResult:
    portal: str  # "signed out", "no token", "token already expired", or the failure
    removed: tuple[Path, ...]


async def logout(
    session: SsoSession,
    t: Transport,
    *,
    endpoint: Endpoint,
    cache_dir: Path | None = None,
    credentials_dir: Path | None = None,
    all_role_credentials: bool = False,
    now: Callable[[], datetime] = _utc_now,
) -> LogoutResult:
    """Portal Logout with the cached token, then remove the session's cache files.

    A failed Logout call does not keep the files: removing them is what the
    user asked for, and the result says the portal call failed.
    """
    token = tc.load_sso_token(session, cache_dir)
    if token is None:
        status = "no token"
    elif token.is_expired(now()):
        status = "token already expired"
    else:
        try:
            await portal.logout(t, endpoint, token.access_token)
            status = "signed out"
        except (AwsError, TransportError) as exc:
            status = f"portal sign-out failed: {exc}"
    removed = tc.remove_session_files(session, all_role_credentials=all_role_credentials,
                                      cache_dir=cache_dir, credentials_dir=credentials_dir)
    # ekstrio token's cached ExecCredentials are bearer tokens for kubectl: they go too.
    from ekstrio.token_fast import remove_cached

    removed.extend(Path(p) for p in remove_cached(
        None if all_role_credentials else session.cache_key, os.environ))
    return LogoutResult(status, tuple(removed))
