"""Send one AWS call: rate limit per scope, bound concurrency, retry, time out.

One :class:`Transport` is shared by a whole scan. For each attempt of a call it

1. takes one of the call's **scope** slots, if :attr:`RateLimits.scope_in_flight`
   bounds them (held until the answer; see "Pacing a scope" below);
2. waits for a token from the scope's bucket (``("portal", digest)``,
   ``("eks", account, region)``): AWS throttles per scope, so a 429 slows down
   only the scope that earned it while every other scope keeps its pace;
3. takes a slot of one global ``trio.CapacityLimiter`` (bounds sockets and
   memory however many scopes are busy), unless its scope kind is one of
   ``unqueued`` (see "The critical path" below);
4. sends ONE HTTP request under a cancel scope with a deadline of ``policy.call_timeout``;
5. retries that one request with stamina when :func:`wire.is_retryable` says
   so, waiting as long as ``Retry-After`` asks when the server said (stamina
   takes over at the first retryable failure; see ``Transport.call``).

A wait happens only when there is something to wait for: a free slot, token or
limiter place is taken at once (``_acquire``), and the scope bucket is in
:mod:`ekstrio.aws.pacing`.

Retries wrap a single HTTP exchange, never a larger unit of work, so a retry
never repeats calls that already succeeded.

Pacing a scope
--------------
The service's own bucket per scope holds about one second of burst. Two
settings keep ekstrio from spending that cushion (the scan sets both; the
defaults keep a plain one-second bucket):

- ``burst=1.0``: call starts exactly ``1/rate`` apart, never a burst. A bucket
  that holds a second's worth of tokens sends them all at once at the start;
  that empties the service's bucket, after which any request that arrives a
  few milliseconds early (network jitter) is throttled, and each throttle
  halves the scope's rate for seconds. Evenly spaced starts leave the
  service's burst unspent as a cushion. It costs at most ``n/rate`` seconds
  on a scope's first ``n <= rate`` calls.
- ``scope_in_flight=0`` (``ceil(rate)`` slots): at most about one second's
  worth of calls between taking a rate token and the answer. A scope's token
  is taken *before* a slot of the global limiter, so that a slow scope never
  hogs the limiter; but then requests that got their tokens over several
  seconds while the limiter was saturated could leave together as one burst,
  and the service throttles the excess.

Measured on the sim (50 accounts, EKS 10 rps per account-region): 10-80
throttles per scan without these two, 0-2 with them.

The critical path
-----------------
Every EKS call of an account needs that account's role credentials, and the
portal that hands them out is paced (20 calls/s by default): a cold scan cannot
end before the portal's last answer. Queued in the global limiter's FIFO behind
thousands of ListClusters that depend on nothing, portal calls waited about half a
second each and the portal ran at 12-16 calls/s instead of 20 (a cold medium-all
scan's --debug log). So the scan names the portal's scope kind ``unqueued``: its
calls skip the global limiter, and their number stays bounded by their scope's own
in-flight bound (``ceil(rate)``) and rate.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import httpx2
import trio

from ekstrio.aws.call_stats import CallStats
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.http_client import (
    MAX_BODY,
    direct_transport,
    make_http_client,
    read_capped,
    read_stream_capped,
    request_headers,
)
from ekstrio.aws.http_log import http_log, log_attempt
from ekstrio.aws.lean_http import Destination, destination
from ekstrio.aws.pacing import RETRY_AFTER_CAP, RateLimits, ScopeBucket, scope_kind
from ekstrio.aws.scope_table import ScopeTable
from ekstrio.aws.wire import (
    WireRequest,
    build_url,
    is_retryable,
    is_throttle,
    parse_error,
    parse_json_body,
)
from ekstrio.errors import (
    AwsError,
    CallTimeoutError,
    EkstrioError,
    ResponseTooLargeError,
    TransportError,
)

__all__ = [
    "CallPolicy",
    "CallStats",
    "RateLimits",
    "ScopeBucket",
    "Transport",
    "make_http_client",
]

# stamina logs each scheduled retry at WARNING through the "stamina" logger;
# with no handler configured Python's last-resort handler would print
# "stamina.retry_scheduled" over the progress display. Retries are counted in
# CallStats instead; an application that configures logging still gets them.
logging.getLogger("stamina").addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """How one call is timed and retried.

    ``attempts`` counts the first try. Backoff before retry *n* is
    ``min(backoff_max, backoff_initial * 2**(n-1) + jitter)`` with jitter
    uniform in ``[0, backoff_jitter]`` (``None``: ``backoff_initial``).
    """

    call_timeout: float = 20.0
    attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    backoff_jitter: float | None = None


async def _acquire(lock: trio.Semaphore | trio.CapacityLimiter) -> None:
    """Take a slot of ``lock``, waiting only when there is none.

    trio's ``acquire`` always passes through the scheduler, free slot or not (it is a
    checkpoint): an attempt took three such trips before its request went out. A free slot
    means nobody is queued (a release hands its slot straight to the first waiter), so taking
    it at once is as fair; the attempt still checkpoints on its socket right after.
    """
    try:
        lock.acquire_nowait()
    except trio.WouldBlock:
        await lock.acquire()


class RequestSigner(Protocol):
    """What signs an attempt: the headers to add to ``method url`` with ``headers`` (the
    request's own, without the client's defaults) and ``body``. SigV4's is
    :class:`ekstrio.aws.sigv4_auth.SigV4Auth`."""

    def headers_for(self, method: str, url: str, headers: Sequence[tuple[str, str]],
                    body: bytes) -> Iterable[tuple[str, str]]: ...


class _Send(NamedTuple):
    """One call's fixed parts, shared by its attempts."""

    url: str
    request: WireRequest
    service: str
    scope: Hashable  # its bucket and slots are looked up per attempt: see aws/scope_table
    limiter: trio.CapacityLimiter | None  # None: an unqueued scope
    auth: RequestSigner | None
    decode: Callable[[bytes], dict[str, Any]] | None


def translate_transport_error(exc: httpx2.HTTPError) -> TransportError:
    """An HTTP client failure as an ekstrio error (raise it ``from exc``): what makes it
    retryable for :func:`ekstrio.aws.wire.is_retryable`."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx2.TimeoutException):
        return CallTimeoutError(f"HTTP timeout ({type(exc).__name__}): {detail}")
    return TransportError(f"HTTP transport failed ({type(exc).__name__}): {detail}")


def _request_id(headers: list[tuple[bytes, bytes]] | None) -> str | None:
    """AWS's ``x-amzn-RequestId`` among an answer's header lines (for --debug only: the
    success path reads no header at all)."""
    for name, value in headers or ():
        if name.lower() == b"x-amzn-requestid":
            return value.decode("ascii", "replace")
    return None


def _error_headers(lines: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """An error answer's header lines as the text that :func:`parse_error` looks up (the
    first of a repeated name). A third of a warm all-regions scan's answers are errors (the
    regions an account has not enabled), and ``httpx2.Headers`` normalised and decoded every
    line again at each of parse_error's four lookups."""
    headers: dict[str, str] = {}
    for name, value in lines:
        headers.setdefault(name.decode("ascii", "replace"), value.decode("ascii", "replace"))
    return headers


@functools.lru_cache(maxsize=1024)
def _parse_url(url: str) -> tuple[httpx2.URL, str]:
    """``httpx2.URL(url)`` and its text as httpx2 sends it (what is signed), remembered: a
    scan asks every account the same ListClusters URL of a region, and parsing one cost as
    much as signing it. URLs are immutable."""
    parsed = httpx2.URL(url)
    return parsed, str(parsed)


@functools.lru_cache(maxsize=1024)
def _destination(url: str) -> Destination:
    """Where the lean transport sends ``url`` (its properties are a dozen Python calls)."""
    return destination(_parse_url(url)[0])


class Transport:
    """Sends AWS calls for a whole run; see the module docstring."""

    def __init__(
        self,
        client: httpx2.AsyncClient,
        *,
        limiter: trio.CapacityLimiter,
        rates: RateLimits,
        policy: CallPolicy,
        stats: CallStats,
        max_body: int = MAX_BODY,
        unqueued: Collection[str] = (),
    ) -> None:
        """``unqueued``: scope kinds (``scope[0]``) whose calls skip ``limiter``; see "The
        critical path" in the module docstring."""
        self.client = client
        self._unqueued = frozenset(unqueued)
        self.max_body = max_body
        self.limiter = limiter
        self.rates = rates
        self.policy = policy
        self.stats = stats
        self._default_headers = tuple(client.headers.multi_items())
        self._direct = direct_transport(client)
        self._scopes = ScopeTable(rates)

    def bucket(self, scope: Hashable) -> ScopeBucket:
        """The (lazily made) token bucket of ``scope``."""
        return self._scopes.get(scope)[0]

    @staticmethod
    def _retry_hook(exc: Exception) -> bool | float:
        # stamina's `on=` hook: False = give up, True = normal backoff, a
        # number = wait exactly that long (the server's Retry-After).
        if not is_retryable(exc):
            return False
        if isinstance(exc, AwsError) and exc.retry_after is not None:
            return min(exc.retry_after, RETRY_AFTER_CAP)
        return True

    async def call(
        self,
        endpoint: Endpoint,
        request: WireRequest,
        *,
        service: str,
        scope: Hashable,
        auth: RequestSigner | None = None,
        decode: Callable[[bytes], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send ``request`` to ``endpoint`` and return the answer's JSON object.

        ``auth`` signs each attempt afresh (the signing time is part of the signature).
        ``decode`` replaces the JSON reading of a successful body (STS answers
        XML); it raises an :class:`AwsError` for a body it cannot read.

        Raises an :class:`AwsError` subclass or :class:`TransportError` once
        retries are spent or the failure is not retryable.
        """
        url = build_url(endpoint.url, request)
        limiter = None if scope_kind(scope) in self._unqueued else self.limiter
        send = _Send(url, request, service, scope, limiter, auth, decode)
        try:
            # The first attempt goes out without stamina: setting up its retry loop (tenacity
            # objects, wait and stop strategies) cost about as much CPU as the HTTP exchange
            # itself, and nearly every call succeeds, or fails for good, at once. Only a
            # retryable failure hands the call to stamina (`_retry`), as its attempt 1.
            try:
                return await self._attempt(send, number=1)
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                failure = exc
            return await self._retry(send, failure)
        except EkstrioError:
            self.stats.errors += 1
            raise

    async def _retry(self, send: _Send, failure: Exception) -> dict[str, Any]:
        """Attempts 2.. of a call whose first attempt failed with ``failure``, retryably."""
        # Imported on the first retry only: stamina and tenacity are ~15 ms of start-up that
        # a scan without a retryable failure never needs.
        import stamina

        policy = self.policy
        jitter = policy.backoff_initial if policy.backoff_jitter is None else policy.backoff_jitter
        # timeout=None: stamina's overall deadline reads the wall clock;
        # the attempt count bounds the retries and callers own any
        # overall deadline as a trio cancel scope.
        async for attempt in stamina.retry_context(
            on=self._retry_hook,
            attempts=policy.attempts,
            timeout=None,
            wait_initial=policy.backoff_initial,
            wait_max=policy.backoff_max,
            wait_jitter=jitter,
        ):
            with attempt:
                if attempt.num == 1:
                    # The attempt that already failed, shown to stamina as its own first: its
                    # hook, backoff, attempt count and testing mode then apply exactly as if
                    # stamina had sent it.
                    raise failure
                self.stats.retries += 1
                return await self._attempt(send, number=attempt.num)
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    async def _attempt(self, send: _Send, *, number: int) -> dict[str, Any]:
        url, request, service, scope, limiter, auth, decode = send
        bucket, slots = self._scopes.get(scope)
        # --debug (ekstrio.http): one line per attempt that went out, whatever its end.
        debug = http_log.isEnabledFor(logging.DEBUG)
        queued = trio.current_time() if debug else 0.0
        sent: float | None = None
        outcome = "cancelled"
        answer: list[tuple[bytes, bytes]] | None = None  # the answer's header lines
        try:
            # The scope slot is held for ONE attempt (from before its rate token
            # until its answer), not across retries: a call sleeping in backoff
            # or Retry-After sends nothing, so it must not keep the scope's other
            # calls from using the rate; the retry queues for a slot again, behind
            # calls that were already waiting. The bound is about requests
            # between token and answer, and a backing-off call holds no token.
            if slots is not None:
                await _acquire(slots)
            try:
                # The slot, rate and limiter waits are not the call's fault: the
                # timeout starts only once the request may actually go out.
                await bucket.acquire()
                if limiter is not None:
                    await _acquire(limiter)
                try:
                    self.stats.calls += 1
                    sent = trio.current_time()
                    timeout = self.policy.call_timeout
                    try:
                        # trio.fail_after's own cancel scope, written out: fail_after wraps
                        # it in a generator-based context manager, ~2 % of a scan's CPU.
                        with trio.CancelScope(deadline=sent + timeout) as deadline:
                            status, lines, body = await self._exchange(request, url,
                                                                       service, auth)
                            answer = lines
                    except httpx2.HTTPError as exc:
                        outcome = type(exc).__name__
                        raise translate_transport_error(exc) from exc
                    except ResponseTooLargeError:
                        outcome = "too large"
                        raise
                    if deadline.cancelled_caught:
                        outcome = "timeout"
                        raise CallTimeoutError(f"{service}: no answer within {timeout:g} s")
                finally:
                    if limiter is not None:
                        limiter.release()
            finally:
                if slots is not None:
                    slots.release()
            outcome = f"status={status}"
            if status >= 300:
                error = parse_error(status, _error_headers(lines), body, service=service)
                outcome = f"status={status} {error.code}"
                if is_throttle(error):
                    self.stats.throttles += 1
                    # Looked up again: with no slot held, a scope at rest may have been
                    # forgotten during the exchange (aws/scope_table).
                    self.bucket(scope).throttled(error.retry_after)
                raise error
            if decode is not None:
                return decode(body)
            return parse_json_body(body, service=service, status=status)
        finally:
            if debug and sent is not None:
                log_attempt(request, url, service=service, outcome=outcome, number=number,
                            wait=sent - queued, latency=trio.current_time() - sent,
                            request_id=_request_id(answer))

    async def _exchange(self, request: WireRequest, url: str, service: str,
                        auth: RequestSigner | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One HTTP exchange: the answer's status, header lines and body (read up to
        ``max_body``)."""
        # The request is built here once, not by `client.build_request` (which parses the URL
        # again to merge it with a base URL, merges cookies and default headers per call): the
        # client's default headers were read once, and the URL is parsed once and signed
        # exactly as httpx2 will send it. `client.send` routes it when a proxy may apply.
        target, signed_url = _parse_url(url)
        content = request.body or b""
        # A header of the request replaces the client's default of that name, as
        # build_request's merge did (STS asks for JSON with its own Accept).
        own = {name.lower() for name, _ in request.headers}
        headers = [item for item in self._default_headers if item[0].lower() not in own]
        headers.extend(request.headers)
        if auth is not None:
            headers.extend(auth.headers_for(request.method, signed_url, request.headers,
                                            content))
        # Streamed, so that no answer is read past max_body whatever the transport:
        # a body that never ends fails this call instead of growing the process.
        if self._direct is not None:
            # No proxy anywhere: straight to the lean transport (see direct_transport), with
            # the header lines httpx2 would have written and no httpx2 models at all.
            where = _destination(url)
            head, stream = await self._direct.send(
                request.method, where, request_headers(request.method, where.host, headers,
                                                       content), content)
            try:
                if head.values(b"content-encoding"):
                    # Coded although identity was asked for: httpx2's decoders read it.
                    body = await read_capped(
                        httpx2.Response(head.status, headers=head.headers, stream=stream),
                        self.max_body, service=service)
                else:
                    body = await read_stream_capped(stream, self.max_body, service=service,
                                                    declared=stream.declared_length)
            finally:
                await stream.aclose()
            return head.status, head.headers, body
        sent = httpx2.Request(request.method, target, headers=headers, content=request.body)
        response = await self.client.send(sent, stream=True)
        try:
            body = await read_capped(response, self.max_body, service=service)
        finally:
            await response.aclose()
        return response.status_code, response.headers.raw, body
