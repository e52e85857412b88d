"""Sign out: the portal's Logout with the cached token, then the session's cache files go."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ekstrio import exec_cache
from ekstrio.auth.provider import utc_now
from ekstrio.aws import portal, role_cache
from ekstrio.aws import token_cache as tc
from ekstrio.errors import AwsError, TransportError
from ekstrio.model import SsoSession

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport


class PortalLogout(StrEnum):
    """What the portal's Logout call came to."""

    SIGNED_OUT = "signed out"
    NO_TOKEN = "no token"  # noqa: S105 - a state, not a secret
    ALREADY_EXPIRED = "token already expired"
    FAILED = "portal sign-out failed"


@dataclass(frozen=True, slots=True)
class LogoutResult:
    outcome: PortalLogout
    removed: tuple[Path, ...]
    failure: str | None = None  # why the portal call failed (FAILED only)

    @property
    def portal(self) -> str:
        """The outcome as one phrase, with the failure when there is one."""
        if self.failure is not None:
            return f"{self.outcome}: {self.failure}"
        return str(self.outcome)


async def logout(
    session: SsoSession,
    t: Transport,
    *,
    endpoint: Endpoint,
    cache_dir: Path | None = None,
    credentials_dir: Path | None = None,
    all_role_credentials: bool = False,
    now: Callable[[], datetime] = utc_now,
) -> LogoutResult:
    """Portal Logout with the cached token, then remove the session's cache files.

    A failed Logout call does not keep the files: removing them is what the
    user asked for, and the result says the portal call failed.
    """
    token = tc.load_sso_token(session, cache_dir)
    failure = None
    if token is None:
        outcome = PortalLogout.NO_TOKEN
    elif token.is_expired(now()):
        outcome = PortalLogout.ALREADY_EXPIRED
    else:
        try:
            await portal.logout(t, endpoint, token.access_token)
            outcome = PortalLogout.SIGNED_OUT
        except (AwsError, TransportError) as exc:
            outcome, failure = PortalLogout.FAILED, str(exc)
    removed = role_cache.remove_session_files(session, all_role_credentials=all_role_credentials,
                                      cache_dir=cache_dir, credentials_dir=credentials_dir)
    # ekstrio token's cached ExecCredentials are bearer tokens for kubectl: they go too.
    removed.extend(Path(p) for p in exec_cache.remove_cached(
        None if all_role_credentials else session.cache_key, os.environ))
    return LogoutResult(outcome, tuple(removed), failure)
