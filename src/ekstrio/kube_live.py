"""The live check's I/O: ask a cluster's API server who we are and what we may do.

One HTTP client per check, trusting only that cluster's CA (:func:`access_live.ssl_context_for`),
never following redirects. Every request runs under its own ``trio.move_on_after(bound)`` at
this call site: a private endpoint or a firewall that drops packets is reported as
``unreachable`` after ``bound`` seconds instead of hanging (the TCP connect would otherwise wait
for the kernel's retries, minutes). Expected failures are :class:`LiveResult` values; this
module raises nothing for a cluster's answer or silence.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence

import httpx2
import trio

from ekstrio import __version__
from ekstrio.access_live import (
    ACCESS_REVIEW_PATH,
    BASE_CHECKS,
    BODY_CAP,
    SELF_SUBJECT_REVIEW_PATHS,
    Check,
    LiveOutcome,
    LiveResult,
    access_review_body,
    api_url,
    parse_access_review,
    parse_self_subject_review,
    self_subject_review_body,
    ssl_context_for,
)

__all__ = ["DEFAULT_BOUND", "check_live"]

# Seconds one request may take, connect and TLS included. A public EKS endpoint answers a
# review in well under a second; five leaves room for a slow link without making a scan of
# private clusters wait long.
DEFAULT_BOUND = 5.0


class _Stop(Exception):
    def __init__(self, result: LiveResult) -> None:
        self.result = result


def _tls_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


async def _post(client: httpx2.AsyncClient, url: str, body: bytes, bound: float
                ) -> tuple[int, bytes]:
    with trio.move_on_after(bound):
        try:
            async with client.stream("POST", url, content=body) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > BODY_CAP:
                        raise _Stop(LiveResult(LiveOutcome.ERROR,
                                               detail=f"answer larger than {BODY_CAP} bytes"))
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        except httpx2.HTTPError as exc:
            tls = _tls_cause(exc)
            if tls is not None:
                reason = getattr(tls, "verify_message", None) or type(tls).__name__
                raise _Stop(LiveResult(LiveOutcome.TLS_ERROR, detail=str(reason))) from exc
            if isinstance(exc, httpx2.TransportError):
                raise _Stop(LiveResult(LiveOutcome.UNREACHABLE,
                                       detail=type(exc).__name__)) from exc
            raise _Stop(LiveResult(LiveOutcome.ERROR, detail=type(exc).__name__)) from exc
    # Only a cancelled scope gets here: every path inside returns or raises.
    raise _Stop(LiveResult(LiveOutcome.UNREACHABLE, detail=f"no answer within {bound:g} s"))


def _unexpected(status: int, what: str) -> _Stop:
    return _Stop(LiveResult(LiveOutcome.ERROR, detail=f"{what}: HTTP {status}"))


async def _review(client: httpx2.AsyncClient, endpoint: str, checks: Sequence[Check],
                  bound: float) -> LiveResult:
    username: str | None = None
    groups: tuple[str, ...] = ()
    authenticated = False
    for path in SELF_SUBJECT_REVIEW_PATHS:
        status, body = await _post(client, api_url(endpoint, path),
                                   self_subject_review_body(path), bound)
        if status == 404:  # an API server older than this version of the review
            continue
        if status == 401:
            return LiveResult(LiveOutcome.UNAUTHORIZED)
        if status == 403:
            break  # signed in, but not even allowed to ask who it is
        if status not in (200, 201):
            raise _unexpected(status, "SelfSubjectReview")
        try:
            username, groups = parse_self_subject_review(body)
        except ValueError as exc:
            raise _Stop(LiveResult(LiveOutcome.ERROR, detail=f"SelfSubjectReview: {exc}")) \
                from None
        authenticated = True
        break
    rights: list[tuple[str, bool]] = []
    for check in checks:
        status, body = await _post(client, api_url(endpoint, ACCESS_REVIEW_PATH),
                                   access_review_body(check), bound)
        if status == 401:
            return LiveResult(LiveOutcome.UNAUTHORIZED)
        if status == 403:
            rights.append((check.name, False))
            authenticated = True
            continue
        if status not in (200, 201):
            raise _unexpected(status, "SelfSubjectAccessReview")
        try:
            rights.append((check.name, parse_access_review(body)))
        except ValueError as exc:
            raise _Stop(LiveResult(LiveOutcome.ERROR,
                                   detail=f"SelfSubjectAccessReview: {exc}")) from None
        authenticated = True
    allowed = any(ok for _, ok in rights)
    outcome = LiveOutcome.OK if authenticated and allowed else LiveOutcome.FORBIDDEN
    return LiveResult(outcome, username, groups, tuple(rights))


async def check_live(
    endpoint: str,
    ca_data: str | None,
    token: str,
    *,
    checks: Sequence[Check] = BASE_CHECKS,
    bound: float = DEFAULT_BOUND,
) -> LiveResult:
    """Who ``token`` is at ``endpoint`` and which ``checks`` it passes; never raises for
    what the cluster does or does not answer."""
    try:
        api_url(endpoint, "/")
    except ValueError as exc:
        return LiveResult(LiveOutcome.ERROR, detail=str(exc))
    if not ca_data:
        return LiveResult(LiveOutcome.TLS_ERROR, detail="the cluster has no CA data")
    try:
        context = ssl_context_for(ca_data)
    except ValueError as exc:
        return LiveResult(LiveOutcome.TLS_ERROR, detail=str(exc))
    async with httpx2.AsyncClient(
        verify=context,
        trust_env=True,  # HTTPS_PROXY / NO_PROXY as kubectl honours them
        follow_redirects=False,
        timeout=httpx2.Timeout(None),  # the bound is a trio cancel scope in _post
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                 "Content-Type": "application/json", "User-Agent": f"ekstrio/{__version__}"},
    ) as client:
        try:
            return await _review(client, endpoint, checks, bound)
        except _Stop as stop:
            return stop.result
