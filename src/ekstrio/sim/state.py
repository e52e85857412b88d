"""The sim's mutable state: what it has issued (clients, codes, tokens, credentials) and counters.

Everything a handler needs hangs off one :class:`SimState`; the clock is injected so expiry logic
is testable. Secrets are random (``secrets``), never derived from the seed, and never logged.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ekstrio.sim.options import SimOptions
from ekstrio.sim.org import Organisation
from ekstrio.sim.quotas import Buckets

_UPPER_ALNUM = string.ascii_uppercase + string.digits


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class OidcClient:
    client_id: str
    client_secret: str = field(repr=False)
    issued_at: float
    expires_at: float
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]

    @property
    def refreshable(self) -> bool:
        # AWS gives refresh tokens to sso-session style registrations (with scopes) and to
        # clients registered for the refresh_token grant; legacy registrations get none.
        return bool(self.scopes) or "refresh_token" in self.grant_types


@dataclass
class DeviceCode:
    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    expires_at: float
    interval: int
    status: str = "pending"  # pending | approved | denied | used
    last_poll: float | None = None


@dataclass
class AuthCode:
    code: str = field(repr=False)
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: float
    used: bool = False


@dataclass
class AccessToken:
    expires_at: float
    client_id: str | None


@dataclass
class RefreshToken:
    expires_at: float
    client_id: str


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    account_id: str
    role_name: str
    expires_at: float  # epoch seconds


@dataclass
class Stats:
    requests: int = 0
    by_api: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)
    throttled: int = 0
    faults: int = 0
    hangs: int = 0
    resets: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_api": dict(self.by_api),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "throttled": self.throttled,
            "faults": self.faults,
            "hangs": self.hangs,
            "resets": self.resets,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }


class SimState:
    """What the sim knows and has issued. Not thread-safe: only the sim's trio loop touches it."""

    def __init__(self, options: SimOptions, org: Organisation, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.options = options
        self.org = org
        self.clock = clock
        self.endpoint = ""  # set once the server is bound
        self.clients: dict[str, OidcClient] = {}
        self.device_codes: dict[str, DeviceCode] = {}
        self.user_codes: dict[str, DeviceCode] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.credentials: dict[str, IssuedCredentials] = {}
        self.buckets = Buckets()
        self.stats = Stats()
        self.describe_cache: dict[tuple[str, str, str], bytes] = {}
        self.portal_cache: dict[str, list[dict[str, Any]]] = {}

    # --- issuing -----------------------------------------------------------------------------
    def register_client(self, grant_types: tuple[str, ...], scopes: tuple[str, ...],
                        redirect_uris: tuple[str, ...]) -> OidcClient:
        now = self.clock()
        client = OidcClient(
            client_id=_rand(string.ascii_letters + string.digits + "-_", 22),
            client_secret="eyJraWQiOiJrZXktMTU2" + secrets.token_urlsafe(300),
            issued_at=now,
            expires_at=now + self.options.client_ttl,
            grant_types=grant_types,
            scopes=scopes,
            redirect_uris=redirect_uris,
        )
        self.clients[client.client_id] = client
        return client

    def start_device(self, client_id: str) -> DeviceCode:
        user_code = f"{_rand('BCDFGHJKLMNPQRSTVWXZ', 4)}-{_rand('BCDFGHJKLMNPQRSTVWXZ', 4)}"
        while user_code in self.user_codes:
            user_code = f"{_rand('BCDFGHJKLMNPQRSTVWXZ', 4)}-{_rand('BCDFGHJKLMNPQRSTVWXZ', 4)}"
        dc = DeviceCode(
            device_code=secrets.token_urlsafe(60),
            user_code=user_code,
            client_id=client_id,
            expires_at=self.clock() + self.options.device_code_ttl,
            interval=self.options.device_interval,
        )
        self.device_codes[dc.device_code] = dc
        self.user_codes[user_code] = dc
        return dc

    def issue_auth_code(self, client_id: str, redirect_uri: str, challenge: str) -> str:
        code = secrets.token_urlsafe(48)
        self.auth_codes[code] = AuthCode(code, client_id, redirect_uri, challenge,
                                         self.clock() + 600)
        return code

    def issue_token(self, *, client_id: str | None, refreshable: bool,
                    expires_in: int | None = None) -> tuple[str, int, str | None]:
        """(access token, expires_in, refresh token or None)."""
        ttl = self.options.token_ttl if expires_in is None else expires_in
        now = self.clock()
        token = "aoa" + secrets.token_urlsafe(180)
        self.tokens[token] = AccessToken(now + ttl, client_id)
        refresh = None
        if refreshable and client_id is not None:
            refresh = "aor" + secrets.token_urlsafe(180)
            self.refresh_tokens[refresh] = RefreshToken(now + self.options.refresh_ttl,
                                                        client_id)
        return token, ttl, refresh

    def token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        rec = self.tokens.get(token)
        return rec is not None and rec.expires_at > self.clock()

    def mint_credentials(self, account_id: str, role_name: str) -> IssuedCredentials:
        creds = IssuedCredentials(
            access_key_id="ASIA" + _rand(_UPPER_ALNUM, 16),
            secret_access_key=secrets.token_urlsafe(30)[:40],
            session_token="IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(330),
            account_id=account_id,
            role_name=role_name,
            expires_at=self.clock() + self.options.credentials_ttl,
        )
        self.credentials[creds.access_key_id] = creds
        return creds
