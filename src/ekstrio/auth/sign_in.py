"""What both sign-in flows share: the arguments, the client registration, the saved token."""

from __future__ import annotations

import os
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import trio

from ekstrio.auth.provider import utc_now
from ekstrio.auth.session import login_hint
from ekstrio.aws import oidc
from ekstrio.aws import token_cache as tc
from ekstrio.aws.token_cache import CachedRegistration, CachedToken
from ekstrio.errors import AuthError, AwsError
from ekstrio.model import SsoSession

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport

# A cached registration is reused until 15 min before it expires (AWS CLI).
REGISTRATION_MARGIN = timedelta(minutes=15)

Opener = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class SignIn:
    """One sign-in: the session, how to reach IAM Identity Center, and how to talk to the user.

    ``opener`` stands in for the browser (tests); ``hint`` is the command that starts over.
    """

    session: SsoSession
    transport: Transport
    endpoint: Endpoint
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    open_browser: bool = True
    opener: Opener | None = None
    cache_dir: Path | None = None
    now: Callable[[], datetime] = utc_now
    hint: str | None = None

    @property
    def again(self) -> str:
        return self.hint or login_hint(self.session)


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


async def register(sign_in: SignIn, *, pkce: bool, fresh: bool = False) -> CachedRegistration:
    """A cached registration fit for the flow, else (or when ``fresh``) a new one, cached."""
    t, endpoint, session = sign_in.transport, sign_in.endpoint, sign_in.session
    now = sign_in.now()
    cached = None if fresh else tc.load_registration(session, sign_in.cache_dir)
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
    tc.save_registration(session, registration, sign_in.cache_dir)
    return registration


def save_login(
    sign_in: SignIn, registration: CachedRegistration, grant: oidc.TokenGrant
) -> CachedToken:
    """The signed-in token, cached where the AWS CLI keeps it."""
    session, cache_dir = sign_in.session, sign_in.cache_dir
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


async def open_url(url: str, opener: Opener | None) -> None:
    """Open ``url`` in the browser (or hand it to ``opener``) without blocking the loop."""
    # Looked up now, not at import, so that tests can stand in for the browser.
    # webbrowser.open may block (it can start a process and wait for it).
    await trio.to_thread.run_sync(opener or webbrowser.open, url, abandon_on_cancel=True)
