"""SigV4 signing as an ``httpx2.Auth``, done by botocore's own signer.

We build a botocore ``AWSRequest`` from the httpx2 request, let
``botocore.auth.SigV4Auth`` add ``X-Amz-Date``, ``X-Amz-Security-Token`` and
``Authorization``, and copy those three headers back. The URL is signed
exactly as httpx2 will send it: query values were encoded once by
``wire.build_url`` and httpx2 keeps ``%XX`` escapes, so ``/+=`` in a
``nextToken`` cannot make the signature disagree with the wire.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NamedTuple

import httpx2
from botocore.auth import SigV4Auth as _BotocoreSigV4Auth
from botocore.awsrequest import AWSRequest

from ekstrio.model import RoleCredentials

__all__ = ["SigV4Auth"]

# Headers left out of the signature: httpx2 or a proxy may add, drop or rewrite
# them on the way (hop-by-hop, compression negotiation, client identity), and
# a signed header that changes in flight breaks the signature. botocore
# derives `host` from the URL itself, which is what httpx2 sends.
_UNSIGNED = frozenset({
    "accept",
    "accept-encoding",
    "connection",
    "content-length",
    "host",
    "user-agent",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
})

# The headers botocore's signer adds; copied back onto the httpx2 request.
_ADDED = ("X-Amz-Date", "X-Amz-Security-Token", "Authorization")


class _BotocoreCredentials(NamedTuple):
    # The shape botocore's signer reads (same fields as botocore.credentials.
    # ReadOnlyCredentials), without importing botocore.credentials.
    access_key: str
    secret_key: str
    token: str | None


class SigV4Auth(httpx2.Auth):
    """Sign each request for ``service`` in ``region`` with frozen credentials."""

    requires_request_body = True

    def __init__(self, credentials: RoleCredentials, service: str, region: str) -> None:
        self._credentials = credentials
        self.service = service
        self.region = region

    def __repr__(self) -> str:
        return f"SigV4Auth(service={self.service!r}, region={self.region!r})"

    def sign(self, request: httpx2.Request) -> None:
        """Add the SigV4 headers to ``request`` in place."""
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _UNSIGNED
        }
        aws_request = AWSRequest(
            method=request.method,
            url=str(request.url),
            headers=headers,
            data=request.content,
        )
        creds = _BotocoreCredentials(
            self._credentials.access_key_id,
            self._credentials.secret_access_key,
            self._credentials.session_token or None,
        )
        _BotocoreSigV4Auth(creds, self.service, self.region).add_auth(aws_request)
        for name in _ADDED:
            value = aws_request.headers.get(name)
            if value is not None:
                request.headers[name] = value

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        self.sign(request)
        yield request
