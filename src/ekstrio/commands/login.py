"""``ekstrio login`` and ``ekstrio logout``: IAM Identity Center sign-in, AWS CLI compatible."""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from cyclopts import Parameter

from ekstrio.model import SessionChoice
from ekstrio.session_flags import Profile, SsoRegion, SsoSession, StartUrl

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from contextlib import AbstractAsyncContextManager

    from ekstrio.aws.transport import Transport


def _transport(ca_bundle: str | None) -> AbstractAsyncContextManager[Transport]:
    import contextlib

    import trio

    from ekstrio.aws.transport import (
        CallPolicy,
        CallStats,
        RateLimits,
        Transport,
        make_http_client,
    )

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[Transport]:
        async with make_http_client(ca_bundle=ca_bundle) as client:
            # Sign-in makes a handful of calls; polling sets its own pace.
            yield Transport(client, limiter=trio.CapacityLimiter(4),
                            rates=RateLimits(default_rate=float("inf")),
                            policy=CallPolicy(call_timeout=30.0, attempts=3),
                            stats=CallStats())

    return opened()


def _say(text: str) -> None:
    # Results go to stdout; prompts and codes went to stderr during the flow.
    sys.stdout.write(text + "\n")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def login(
    *,
    profile: Profile = None,
    sso_session: SsoSession = None,
    start_url: StartUrl = None,
    sso_region: SsoRegion = None,
    device_code: Annotated[bool, Parameter(negative=())] = False,
    no_browser: Annotated[bool, Parameter(negative=())] = False,
) -> int:
    """Sign in to IAM Identity Center and cache the token where the AWS CLI keeps it.

    Uses the authorization-code flow with PKCE: your browser opens the sign-in page and
    comes back to ekstrio on 127.0.0.1. Over SSH or without a display, and with
    --device-code, it uses the device-code flow instead: open the link shown and enter the
    code. The token goes to ~/.aws/sso/cache (the AWS CLI and SDKs use it too). Exit status:
    0 signed in, 2 configuration or usage error, 3 sign-in denied or not completed.

    Parameters
    ----------
    device_code
        Use the device-code flow (sign in on any device by entering a code).
    no_browser
        Do not open a browser: print the URL (and code) to open yourself.
    """
    import trio

    from ekstrio.auth.device import login_device
    from ekstrio.auth.pkce import login_pkce
    from ekstrio.auth.session import login_hint, oidc_endpoint, resolve
    from ekstrio.auth.sign_in import SignIn, browser_available
    from ekstrio.aws import token_cache

    env = dict(os.environ)
    cfg, session = resolve(SessionChoice(profile, sso_session, start_url, sso_region),
                           env=env)
    endpoint = oidc_endpoint(session, cfg)
    hint = login_hint(session, profile=profile or cfg.profile_name)
    use_device = device_code or not browser_available(env)

    async def run() -> token_cache.CachedToken:
        async with _transport(cfg.ca_bundle) as t:
            flow = login_device if use_device else login_pkce
            return await flow(SignIn(session, t, endpoint, stderr=sys.stderr,
                                     open_browser=not no_browser, hint=hint))

    token = trio.run(run)
    label = f"sso-session {session.name}" if session.name else session.start_url
    path = token_cache.token_path(session)
    if token.refresh_token and session.name is not None:
        renewal = "ekstrio refreshes it before then"
    else:
        renewal = f"then run: {hint}"
    _say(f"Signed in to {label}. The token is valid until {_when(token.expires_at)}; "
          f"{renewal}.")
    _say(f"Token cached in {path}")
    return 0


def logout(
    *,
    profile: Profile = None,
    sso_session: SsoSession = None,
    start_url: StartUrl = None,
    sso_region: SsoRegion = None,
    all_credentials: Annotated[bool, Parameter(name="--all", negative=())] = False,
) -> int:
    """Sign out: revoke the SSO session and remove its cached token and credentials.

    Calls the portal's Logout with the cached token, then deletes the session's token and
    client registration from ~/.aws/sso/cache and the role credentials ekstrio cached for
    it in ~/.aws/cli/cache. Prints one summary line; -v lists the removed files.

    Parameters
    ----------
    all_credentials
        Also remove every SSO role-credential file in ~/.aws/cli/cache, including those
        the AWS CLI wrote (as `aws sso logout` does).
    """
    import trio

    from ekstrio.auth.logout import LogoutResult, PortalLogout
    from ekstrio.auth.logout import logout as sign_out
    from ekstrio.auth.session import portal_endpoint, resolve

    env = dict(os.environ)
    cfg, session = resolve(SessionChoice(profile, sso_session, start_url, sso_region),
                           env=env)
    endpoint = portal_endpoint(session, cfg)

    async def run() -> LogoutResult:
        async with _transport(cfg.ca_bundle) as t:
            return await sign_out(session, t, endpoint=endpoint,
                                  all_role_credentials=all_credentials)

    result = trio.run(run)
    label = f"sso-session {session.name}" if session.name else session.start_url
    if result.outcome is PortalLogout.SIGNED_OUT:
        status = f"Signed out of {label}"
    elif result.outcome is PortalLogout.NO_TOKEN:
        status = f"No cached token for {label}"
    elif result.outcome is PortalLogout.ALREADY_EXPIRED:
        status = f"The token of {label} had already expired"
    else:
        status = (f"Could not sign out of {label} at the portal ({result.portal}), the "
                  f"local files are removed anyway")
    # One summary line (as `aws sso logout` prints none and kubectl one); -v lists the files.
    log = logging.getLogger("ekstrio.login")
    for path in result.removed:
        log.info("removed %s", path)
    count = len(result.removed)
    if count:
        files = "1 cached file" if count == 1 else f"{count} cached files"
        hint = "" if log.isEnabledFor(logging.INFO) else " (-v lists them)"
        line = f"{status}; removed {files}{hint}."
    else:
        line = f"{status}; no cached files to remove."
    if status.startswith("Could not"):
        sys.stderr.write(line + "\n")  # a failure: not a result
    else:
        _say(line)
    return 0
