"""Sign-in with the device code: the user approves a code in any browser while we poll."""

from __future__ import annotations

import trio

from ekstrio.auth.sign_in import SignIn, open_url, register, save_login
from ekstrio.aws import oidc
from ekstrio.aws.token_cache import CachedToken
from ekstrio.errors import AuthError, AwsError


async def login_device(sign_in: SignIn) -> CachedToken:
    """Device code: the user approves a code in any browser while we poll CreateToken."""
    session, t, endpoint = sign_in.session, sign_in.transport, sign_in.endpoint
    stderr, now, again = sign_in.stderr, sign_in.now, sign_in.again
    registration = await register(sign_in, pkce=False)
    try:
        try:
            device = await oidc.start_device_authorization(t, endpoint, registration,
                                                           session.start_url)
        except AwsError as exc:
            if oidc.oauth_error(exc) != "invalid_client":
                raise
            # The cached registration is unknown to the service (deleted, or made for
            # another IAM Identity Center instance at the same address): register anew, once.
            registration = await register(sign_in, pkce=False, fresh=True)
            device = await oidc.start_device_authorization(t, endpoint, registration,
                                                           session.start_url)
    except AwsError as exc:
        raise AuthError(f"IAM Identity Center refused to start the sign-in: {exc}") from exc
    print(f"To sign in, open {device.verification_uri} and enter the code:\n\n"
          f"  {device.user_code}\n", file=stderr)
    if sign_in.open_browser and device.verification_uri_complete:
        print(f"(Opening {device.verification_uri_complete} in your browser.)", file=stderr)
        await open_url(device.verification_uri_complete, sign_in.opener)
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
    return save_login(sign_in, registration, grant)
