"""The session's access token, kept fresh the way botocore does it.

Single flight: at most one refresh at a time per provider; see :class:`TokenProvider`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from ekstrio.auth.session import login_hint, oidc_endpoint
from ekstrio.aws import token_cache as tc
from ekstrio.aws.token_cache import CachedToken
from ekstrio.errors import AuthError, AwsError, FileWriteError, TransportError
from ekstrio.model import SsoSession

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport

log = logging.getLogger("ekstrio.auth")

# botocore's windows (tokens.DeferredRefreshableToken): under 15 min left a
# refresh is attempted without blocking others; under 10 min everyone waits
# for it; at most one attempt per 60 s.
ADVISORY_REFRESH = timedelta(minutes=15)
MANDATORY_REFRESH = timedelta(minutes=10)
REFRESH_ATTEMPT_INTERVAL = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        now: Callable[[], datetime] = utc_now,
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
        # Imported at the first refresh, not with the provider: every scan makes one, few
        # refresh (a token is refreshed once in its last 15 minutes), and sign-in's OIDC
        # module is ~2.5 ms to import.
        from ekstrio.aws import oidc

        # can_refresh() checked these; the `or ""` only narrows the types.
        request = oidc.refresh_token_request(token.client_id or "", token.client_secret or "",
                                             token.refresh_token or "")
        endpoint = self._endpoint or oidc_endpoint(self.session)
        grant = await oidc.create_token(self._transport, endpoint, request, now=self._now())
        renewed = oidc.refreshed_token(token, grant, self.session)
        try:
            tc.save_sso_token(self.session, renewed, self._cache_dir)
        except FileWriteError as exc:
            # The new token is good for this run even if the cache cannot take it.
            log.warning("could not cache the refreshed SSO token: %s", exc)
        else:
            log.info("refreshed the SSO token of %s", self._label())
        return renewed
