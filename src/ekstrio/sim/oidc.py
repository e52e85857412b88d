"""SSO OIDC: RegisterClient, StartDeviceAuthorization, CreateToken, /authorize and the device page.

Grants: device code (pending / slow_down / expired_token / access_denied), authorization code with
PKCE S256, refresh token. Errors are ``{"error","error_description"}`` with ``x-amzn-ErrorType``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ekstrio.sim.messages import Request, Response, html, json_response, oidc_error, redirect
from ekstrio.sim.state import OidcClient, SimState

GRANT_DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_CODE = "authorization_code"
GRANT_REFRESH = "refresh_token"
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


def _invalid_request(description: str) -> Response:
    return oidc_error(400, "InvalidRequestException", "invalid_request", description)


def _invalid_grant(description: str) -> Response:
    return oidc_error(400, "InvalidGrantException", "invalid_grant", description)


def _str_list(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _is_loopback_uri(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK


def _strip_port(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.hostname}{parts.path}"


def register_client(state: SimState, req: Request) -> Response:
    body = req.json()
    if body is None:
        return _invalid_request("Request body is not a JSON object")
    name, ctype = body.get("clientName"), body.get("clientType")
    if not isinstance(name, str) or not name or not isinstance(ctype, str):
        return _invalid_request("clientName and clientType are required")
    if ctype != "public":
        return oidc_error(400, "InvalidClientMetadataException", "invalid_client_metadata",
                          "Invalid client type")
    scopes, grants = _str_list(body.get("scopes")), _str_list(body.get("grantTypes"))
    uris = _str_list(body.get("redirectUris"))
    if scopes is None or grants is None or uris is None:
        return _invalid_request("scopes, grantTypes and redirectUris must be lists of strings")
    unknown = set(grants) - {GRANT_DEVICE, GRANT_CODE, GRANT_REFRESH}
    if unknown:
        return oidc_error(400, "InvalidClientMetadataException", "invalid_client_metadata",
                          f"Unsupported grant types: {sorted(unknown)}")
    if GRANT_CODE in grants and not uris:
        return oidc_error(400, "InvalidRedirectUriException", "invalid_redirect_uri",
                          "redirectUris are required for the authorization_code grant")
    if any(not _is_loopback_uri(u) for u in uris):
        return oidc_error(400, "InvalidRedirectUriException", "invalid_redirect_uri",
                          "Only loopback http redirect URIs are allowed")
    client = state.register_client(grants, scopes, uris)
    out: dict[str, Any] = {
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "clientIdIssuedAt": int(client.issued_at),
        "clientSecretExpiresAt": int(client.expires_at),
        "tokenEndpoint": f"{state.endpoint}/token",
    }
    if GRANT_CODE in grants:
        out["authorizationEndpoint"] = f"{state.endpoint}/authorize"
    return json_response(200, out, api="oidc")


def _client(state: SimState, body: dict[str, Any]) -> OidcClient | Response:
    cid, secret = body.get("clientId"), body.get("clientSecret")
    if not isinstance(cid, str) or not isinstance(secret, str):
        return _invalid_request("clientId and clientSecret are required")
    client = state.clients.get(cid)
    if client is None or not hmac.compare_digest(client.client_secret, secret):
        return oidc_error(401, "InvalidClientException", "invalid_client", "Invalid client")
    if client.expires_at <= state.clock():
        return oidc_error(401, "InvalidClientException", "invalid_client",
                          "Client registration has expired")
    return client


def _body_and_client(state: SimState, req: Request) -> tuple[dict[str, Any], OidcClient] | Response:
    """The JSON body of a device-authorization or token request and its registered client, or
    the error to answer."""
    body = req.json()
    if body is None:
        return _invalid_request("Request body is not a JSON object")
    client = _client(state, body)
    if isinstance(client, Response):
        return client
    return body, client


def start_device_authorization(state: SimState, req: Request) -> Response:
    found = _body_and_client(state, req)
    if isinstance(found, Response):
        return found
    body, client = found
    if body.get("startUrl") != state.org.start_url:
        return _invalid_request("Invalid start url")
    dc = state.start_device(client.client_id)
    page = f"{state.endpoint}/device"
    return json_response(200, {
        "deviceCode": dc.device_code,
        "userCode": dc.user_code,
        "verificationUri": page,
        "verificationUriComplete": f"{page}?{urlencode({'user_code': dc.user_code})}",
        "expiresIn": state.options.device_code_ttl,
        "interval": dc.interval,
    }, api="oidc")


def _token_response(state: SimState, client: OidcClient) -> Response:
    token, ttl, refresh = state.issue_token(client_id=client.client_id,
                                            refreshable=client.refreshable)
    out: dict[str, Any] = {"accessToken": token, "tokenType": "Bearer", "expiresIn": ttl}
    if refresh:
        out["refreshToken"] = refresh
    return json_response(200, out, api="oidc")


def create_token(state: SimState, req: Request) -> Response:
    found = _body_and_client(state, req)
    if isinstance(found, Response):
        return found
    body, client = found
    grant = body.get("grantType")
    if grant == GRANT_DEVICE:
        return _device_grant(state, client, body)
    if grant == GRANT_CODE:
        return _code_grant(state, client, body)
    if grant == GRANT_REFRESH:
        return _refresh_grant(state, client, body)
    if not isinstance(grant, str):
        return _invalid_request("grantType is required")
    return oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type",
                      f"Unsupported grant type: {grant}")


def _device_grant(state: SimState, client: OidcClient, body: dict[str, Any]) -> Response:
    code = body.get("deviceCode")
    if not isinstance(code, str):
        return _invalid_request("deviceCode is required")
    dc = state.device_codes.get(code)
    if dc is None or dc.client_id != client.client_id or dc.status == "used":
        return _invalid_grant("Invalid device code provided")
    now = state.clock()
    if dc.expires_at <= now:
        return oidc_error(400, "ExpiredTokenException", "expired_token",
                          "Device code has expired")
    if dc.status == "denied":
        return oidc_error(400, "AccessDeniedException", "access_denied",
                          "The user denied the authorization request")
    if dc.status == "pending" and state.options.auto_approve:
        dc.status = "approved"
    if dc.status == "pending":
        too_fast = dc.last_poll is not None and now - dc.last_poll < dc.interval
        dc.last_poll = now
        if too_fast:
            return oidc_error(400, "SlowDownException", "slow_down",
                              "Client is polling too quickly")
        return oidc_error(400, "AuthorizationPendingException", "authorization_pending",
                          "Authorization is still pending")
    dc.status = "used"
    return _token_response(state, client)


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def _code_grant(state: SimState, client: OidcClient, body: dict[str, Any]) -> Response:
    code, uri, verifier = body.get("code"), body.get("redirectUri"), body.get("codeVerifier")
    if not isinstance(code, str) or not isinstance(uri, str) or not isinstance(verifier, str):
        return _invalid_request("code, redirectUri and codeVerifier are required")
    rec = state.auth_codes.get(code)
    if rec is None or rec.used or rec.client_id != client.client_id:
        return _invalid_grant("Invalid authorization code")
    if rec.expires_at <= state.clock():
        return oidc_error(400, "ExpiredTokenException", "expired_token",
                          "Authorization code has expired")
    if rec.redirect_uri != uri:
        return _invalid_grant("redirectUri does not match the authorization request")
    if not _pkce_matches(verifier, rec.challenge):
        return _invalid_grant("Code verifier does not match the code challenge")
    rec.used = True
    return _token_response(state, client)


def _refresh_grant(state: SimState, client: OidcClient, body: dict[str, Any]) -> Response:
    token = body.get("refreshToken")
    if not isinstance(token, str):
        return _invalid_request("refreshToken is required")
    rec = state.refresh_tokens.get(token)
    if rec is None or rec.client_id != client.client_id:
        return _invalid_grant("Invalid refresh token provided")
    if rec.expires_at <= state.clock():
        return oidc_error(400, "ExpiredTokenException", "expired_token",
                          "Refresh token has expired")
    return _token_response(state, client)


def authorize(state: SimState, req: Request) -> Response:
    """GET /authorize: approve (auto-approve, or ``approve=1`` from this page's own link) and
    redirect to the client's loopback ``redirect_uri`` with ``code`` and ``state``."""
    q = req.arg
    client = state.clients.get(q("client_id") or "")
    uri = q("redirect_uri") or ""
    if client is None:
        return html(400, "<h1>Invalid client</h1>")
    if not _is_loopback_uri(uri) or _strip_port(uri) not in {_strip_port(u)
                                                          for u in client.redirect_uris}:
        return html(400, "<h1>Invalid redirect_uri</h1>")
    sep = "&" if "?" in uri else "?"
    if q("response_type") != "code" or q("code_challenge_method") != "S256" \
            or not q("code_challenge"):
        return redirect(uri + sep + urlencode({"error": "invalid_request",
                                               "state": q("state") or ""}))
    if q("deny") == "1":
        return redirect(uri + sep + urlencode({"error": "access_denied",
                                               "state": q("state") or ""}))
    if state.options.auto_approve or q("approve") == "1":
        code = state.issue_auth_code(client.client_id, uri, q("code_challenge") or "")
        return redirect(uri + sep + urlencode({"code": code, "state": q("state") or ""}))
    here = f"/authorize?{req.raw_query}"
    return html(200, "<!doctype html><title>ekstrio sim: sign in</title>"
                     f"<h1>Allow {escape(client.client_id)} to access your accounts?</h1>"
                     f'<p><a id="allow" href="{escape(here)}&approve=1">Allow</a> '
                     f'<a id="deny" href="{escape(here)}&deny=1">Deny</a></p>')


def device_page(state: SimState, req: Request) -> Response:
    """The verification page: opening it with a user code (GET or a form POST) approves it."""
    code = req.arg("user_code")
    if req.method == "POST":
        form = parse_qs(req.body.decode("utf-8", "replace"))
        code = (form.get("user_code") or [code or ""])[0]
    if not code:
        return html(200, "<!doctype html><title>ekstrio sim: device</title>"
                         '<form method="post"><input name="user_code">'
                         "<button>Approve</button></form>")
    if not approve(state, code.strip().upper()):
        return html(404, "<h1>Unknown or expired code</h1>")
    return html(200, f"<h1>Request approved</h1><p>{escape(code)}: you can close this page.</p>")


def approve(state: SimState, user_code: str, *, deny: bool = False) -> bool:
    dc = state.user_codes.get(user_code)
    if dc is None or dc.status != "pending" or dc.expires_at <= state.clock():
        return False
    dc.status = "denied" if deny else "approved"
    return True
