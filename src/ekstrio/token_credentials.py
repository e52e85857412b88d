"""``ekstrio token``'s role credentials when its ExecCredential cache cannot answer.

From the role-credential cache (:mod:`ekstrio.aws.role_cache`, the AWS CLI's format) while they
outlive a token; failing that, from the portal's GetRoleCredentials with the cached SSO token,
refreshed first (OIDC CreateToken) when it is about to expire and can be. Both calls are
``aws/``'s requests and parsers sent with urllib (:mod:`ekstrio.aws.urllib_send`); the refreshed
token is :func:`ekstrio.aws.oidc.refreshed_token`, the rule the scan's ``TokenProvider`` uses.

Imported only on the cold path (a cached token needs none of this). Even there, the usual case
is role credentials from the cache, so the portal and OIDC code, urllib and ssl (about 80 ms
together) are imported only inside the functions that send.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ekstrio.aws import role_cache, token_cache
from ekstrio.errors import AuthError, AwsError, EkstrioError, TransportError
from ekstrio.model import RoleCredentials, SsoSession

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ekstrio.aws.token_cache import CachedToken
    from ekstrio.exec_plugin import TokenArgs

# Role credentials must outlive the token signed with them (15 min of validity at EKS).
CREDS_MARGIN = timedelta(minutes=15)
# An SSO token this close to expiry is refreshed (when it can be) before calling the portal.
SSO_MARGIN = timedelta(minutes=1)


def sso_session_of(args: TokenArgs, sso_region: str | None = None) -> SsoSession:
    return SsoSession(start_url=args.start_url or "",
                      region=args.sso_region or sso_region or "", name=args.sso_session)


def refresh_sso_token(args: TokenArgs, session: SsoSession, env: Mapping[str, str],
                      now: datetime) -> CachedToken | None:
    """OIDC CreateToken(grant refresh_token), like botocore; None when it does not work.

    Several kubectl calls may start at once: the refresh runs under a lock on the token file
    and re-reads it first, so only one process spends the refresh token (which may rotate).
    """
    from ekstrio.aws import oidc
    from ekstrio.aws.urllib_send import send, service_url
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
        refreshed = oidc.refreshed_token(sso, grant, session)
        with contextlib.suppress(EkstrioError, OSError):  # it still serves this call
            token_cache.save_sso_token(session, refreshed)
        return refreshed


def fetch_role_credentials(args: TokenArgs, access_token: str, sso_region: str,
                           env: Mapping[str, str]) -> RoleCredentials:
    """GetRoleCredentials (aws/portal's request and parser) sent with urllib."""
    from ekstrio.aws import portal
    from ekstrio.aws.urllib_send import send, service_url
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
    session = sso_session_of(args)
    cached = role_cache.load_role_credentials(session, args.account_id, args.role)
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
        role_cache.save_role_credentials(session, args.account_id, args.role, creds)
    return creds
