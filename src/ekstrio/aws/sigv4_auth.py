"""The scan's driver of the SigV4 signer: the headers that sign one request.

The signing itself is :mod:`ekstrio.aws.sigv4` (pure, standard library only; ``ekstrio token``
drives the same code for its presigned URL). This adapter only chooses what to sign and returns
the three resulting headers (``X-Amz-Date``, ``X-Amz-Security-Token``, ``Authorization``):
the Transport adds them as it builds each attempt's request (``headers_for``), and as an
``httpx2.Auth`` it signs any httpx2 request the same way (``sign``, for tests and tools).
The URL is signed exactly as httpx2 will send it: query values were encoded once by
``wire.build_url`` and httpx2 keeps ``%XX`` escapes, so ``/+=`` in a ``nextToken`` cannot make
the signature disagree with the wire.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable

import httpx2

from ekstrio.aws.sigv4 import SigningIdentity, amz_timestamp, authorization_headers
from ekstrio.model import RoleCredentials

__all__ = ["SigV4Auth"]

# Headers left out of the signature: httpx2 or a proxy may add, drop or rewrite them on the way
# (hop-by-hop, compression negotiation, client identity), and a signed header that changes in
# flight breaks the signature. The signer derives `host` from the URL itself, which is what
# httpx2 sends; the last three are the ones signing adds (a retried request still has them).
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


class SigV4Auth(httpx2.Auth):
    """Sign each request for ``service`` in ``region`` with frozen credentials.

    ``clock`` gives the signing time in Unix seconds (tests pin it)."""

    requires_request_body = True

    def __init__(self, credentials: RoleCredentials, service: str, region: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._identity = SigningIdentity(
            credentials.access_key_id, credentials.secret_access_key,
            credentials.session_token or None, region, service)
        self._clock = clock
        self.service = service
        self.region = region

    def __repr__(self) -> str:
        return f"SigV4Auth(service={self.service!r}, region={self.region!r})"

    def headers_for(self, method: str, url: str, headers: Iterable[tuple[str, str]],
                    body: bytes) -> tuple[tuple[str, str], ...]:
        """The SigV4 headers for ``method url`` with ``headers`` and ``body``, signed now
        (the Transport's :class:`~ekstrio.aws.transport.RequestSigner`)."""
        signable = [(name, value) for name, value in headers
                    if name.lower() not in _UNSIGNED]
        return authorization_headers(self._identity, method, url, signable, body,
                                     timestamp=amz_timestamp(self._clock())).items()

    def sign(self, request: httpx2.Request) -> None:
        """Add the SigV4 headers to ``request`` in place (replacing older ones)."""
        for name, value in self.headers_for(request.method, str(request.url),
                                            request.headers.items(), request.content):
            request.headers[name] = value

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        self.sign(request)
        yield request
