"""Sign-in with the authorization code + PKCE: the browser comes back to 127.0.0.1."""

from __future__ import annotations

import trio

from ekstrio.auth.loopback import CallbackResult, open_loopback, wait_for_callback
from ekstrio.auth.sign_in import SignIn, open_url, register, save_login
from ekstrio.aws import oidc
from ekstrio.aws.token_cache import CachedToken
from ekstrio.errors import AuthError, AwsError

# How long the PKCE flow waits for the browser to come back (AWS CLI: 600 s).
BROWSER_WAIT_S = 600.0
# After the callback, how long to let a still-running browser launcher finish.
OPENER_GRACE_S = 5.0


async def login_pkce(sign_in: SignIn) -> CachedToken:
    """Authorization code + PKCE: the browser signs in and comes back to 127.0.0.1."""
    session, t, endpoint = sign_in.session, sign_in.transport, sign_in.endpoint
    stderr, opener, now, again = sign_in.stderr, sign_in.opener, sign_in.now, sign_in.again
    registration = await register(sign_in, pkce=True)
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
                if sign_in.open_browser:
                    print(f"Opening the sign-in page in your browser. If it does not open, "
                          f"visit:\n  {url}", file=stderr)
                    await open_url(url, opener)
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
    return save_login(sign_in, registration, grant)
