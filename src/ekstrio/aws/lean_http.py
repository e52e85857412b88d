"""A lean HTTP/1.1 transport under the httpx2 client: :mod:`ekstrio.aws.http1` over trio streams.

Why it exists
-------------
A scan is a few thousand small JSON exchanges, and before this module it was bound by the
client's CPU, not by AWS. Measured on this project's 2-core machine (32 keep-alive connections
to one local h11 server, 3,000 small GETs, client CPU per request): httpx2's stock transport
(httpcore2 over anyio) 0.65-0.69 ms, a bare h11-on-trio loop 0.17-0.18 ms, httpx2's client
layer alone 0.08-0.10 ms. The stock transport alone was above the scan's 0.5 ms-per-call
budget; this one keeps httpx2's client API (URL and header models, proxies through its
mounts, respx in unit tests) and replaces only the part that cost the most. It first spoke
HTTP through h11; the codec is now :mod:`ekstrio.aws.http1` (see why there: h11's exchange
alone was 161 µs of the 500).

What it does
------------
- One request at a time per connection, keep-alive; the head is written and read by the pure
  functions of :mod:`ekstrio.aws.http1`, which refuse anything malformed.
- An idle-connection stack per (scheme, host, port): checking out and in is O(1) whatever the
  number of connections (httpcore's pool scanned every connection for every request), with
  at most ``max_idle`` idle sockets in all (``MAX_IDLE``, see there). The
  newest idle connection is reused first (least likely to have been closed by the server); when
  the top of a stack has been idle longer than ``keepalive_expiry`` everything under it is
  older, so the whole stack is closed at once.
- Sockets connected by ``trio.open_tcp_stream`` (happy eyeballs, TCP_NODELAY), then read and
  written through ``_SocketIO``: a write that goes out at once is not a trip through trio's
  scheduler (see why there); a read is a checkpoint as in trio.
- TLS through ``trio.SSLStream`` with the ``ssl.SSLContext`` it is given: ``make_http_client``
  builds ONE context (AWS_CA_BUNDLE / config ``ca_bundle`` / SSL_CERT_FILE / SSL_CERT_DIR /
  the system store, httpx2's own rules) and hands the same one to httpx2's proxy transports.
- Response bodies are streamed, never buffered here: at most one ``receive_some`` chunk
  (64 KiB) is held per connection, and response heads are capped at 64 KiB
  (``http1.MAX_HEAD``); the caller decides how much body to read
  (``http_client.read_capped``). A connection goes back to the pool only when its answer was
  read to the end, its framing allows reuse, and no byte came after it.
- Failures raise httpx2's own exception types (``ConnectError``, ``WriteError``,
  ``ReadError``, ``RemoteProtocolError``, ``LocalProtocolError``, ``UnsupportedProtocol``), so
  ``transport.translate_transport_error`` and the retry predicate work unchanged over both
  transports.
- A connection the server closed while it sat idle is caught before use (its socket reads as
  ready: EOF or stray bytes) and, for the race where it closes just as a request goes out, the
  request is sent again ONCE on a fresh connection, only when that is safe: the write failed
  (the server cannot have received the whole request), or the method is idempotent and not one
  byte of an answer arrived. Everything else is the Transport's retry policy's business.

What it does not do, and why that is fine here
----------------------------------------------
- No HTTP/2, no pipelining, no ``Expect: 100-continue``, no upgrades or CONNECT: AWS's JSON
  APIs answer HTTP/1.1 keep-alive, one request per connection at a time (1xx answers before
  the real one are skipped; a 101 is refused).
- No transfer codings but chunked, and no content codings: ekstrio asks for
  ``Accept-Encoding: identity``.
- No proxies: the httpx2 client routes every URL a proxy variable covers (HTTP(S)_PROXY,
  ALL_PROXY, minus NO_PROXY) to httpx2's own proxy transport through its mounts; this
  transport only ever sees direct connections.
- No httpx timeouts (it ignores the ``timeout`` extension): ekstrio times each attempt with a
  trio cancel scope at the call site; a cancelled exchange closes its connection.
- No streamed request bodies: the body is read first (ekstrio's are small JSON documents).
- No client certificates, unix sockets, local addresses or socket options.
"""

from __future__ import annotations

import select
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpx2
import trio

from ekstrio.aws import http1
from ekstrio.aws.http1 import Framing

__all__ = ["KEEPALIVE_EXPIRY", "BodyStream", "Destination", "LeanTransport", "destination"]

RECEIVE_SIZE = 64 * 1024
KEEPALIVE_EXPIRY = 30.0  # seconds; AWS front ends keep idle connections about 60 s
# Idle sockets kept across all hosts. A scan talks to one host per EKS region (34 in the aws
# partition); without a total bound, each region's peak concurrency would stay open as idle
# file descriptors until the scan ends. 256 idle + at most 256 in flight (the aggressive
# preset) stays well under the usual 1,024-descriptor limit.
MAX_IDLE = 256

# Methods whose repetition cannot change the result (RFC 9110 §9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# What a broken socket raises under trio: the stream was reset or closed, or the OS said no.
_IO_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)

Origin = tuple[bytes, bytes, int]


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a request goes, read off its URL once (a scan sends to the same few hundred
    URLs thousands of times): the pool's key, the request line's target, the Host value."""

    origin: Origin  # (scheme, host, port)
    target: bytes  # path and query, as the request line carries them
    host: bytes  # what httpx2 writes as Host: the URL's host, and its port unless default;
    # b"" for a URL without a host


def destination(url: httpx2.URL) -> Destination:
    """The :class:`Destination` of ``url``; UnsupportedProtocol for a scheme other than
    http and https."""
    scheme = url.raw_scheme
    if scheme not in (b"http", b"https"):
        raise httpx2.UnsupportedProtocol(f"the lean transport speaks http and https, "
                                         f"not {scheme.decode(errors='replace')!r}")
    port = url.port or (443 if scheme == b"https" else 80)
    return Destination((scheme, url.raw_host, port), url.raw_path,
                       url.netloc if url.raw_host else b"")


class _StaleConnection(Exception):
    """A reused connection turned out closed before it answered; the request may go again."""


class _SocketIO(trio.abc.Stream):
    """A connected TCP socket as a trio stream, with one scheduler trip less per exchange
    than ``trio.SocketStream``.

    trio's socket methods end every operation that did not have to wait with a
    ``cancel_shielded_checkpoint``, a full trip through the scheduler, so that each call is
    a checkpoint: a request written at once still cost one trip before its answer was even
    awaited, and that trip was a third of an exchange's scheduler work. Here ``send_all``
    checks for cancellation (no trip) and waits only when the socket would block;
    ``receive_some`` is a full checkpoint as trio's is, so every exchange still passes the
    scheduler at least once (at its answer, which it nearly always has to wait for anyway).
    OS errors propagate as ``OSError`` (the transport's ``_IO_ERRORS``); ``trio.SSLStream``
    runs over it as over ``trio.SocketStream``.
    """

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        sock = self._sock
        with memoryview(data) as view:
            while view:
                try:
                    sent = sock.send(view)
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(sock)
                else:
                    view = view[sent:]

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.wait_writable(self._sock)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        # Always a checkpoint, exactly as trio's: every exchange passes the scheduler at
        # least once, here, even when its answer is already waiting.
        await trio.lowlevel.checkpoint_if_cancelled()
        sock = self._sock
        size = max_bytes or RECEIVE_SIZE
        try:
            data = sock.recv(size)
        except BlockingIOError:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return data
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                return sock.recv(size)
            except BlockingIOError:
                pass

    async def send_eof(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if self._sock.fileno() != -1:
            # Wakes (with ClosedResourceError) any task waiting on it, as trio's close does.
            trio.lowlevel.notify_closing(self._sock)
            self._sock.close()

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()


class _Connection:
    __slots__ = ("idle_since", "origin", "reused", "socket", "stream")

    def __init__(self, stream: trio.abc.Stream, sock: _SocketIO, origin: Origin) -> None:
        self.stream = stream
        self.socket = sock
        self.origin = origin
        self.idle_since = 0.0
        self.reused = False

    def readable(self) -> bool:
        """True when an idle connection has something to read: EOF, a reset, or bytes nobody
        asked for. Either way it is no longer fit for a request."""
        try:
            ready, _, _ = select.select([self.socket.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(ready)

    def close_now(self) -> None:
        """Close without a TLS close_notify or any await: usable from any state, also while
        the task is being cancelled. The server sees the TCP close either way."""
        self.socket.close()


class BodyStream(httpx2.AsyncByteStream):
    """A response body read from its connection as the caller asks for it.

    A class rather than an async generator: a generator left half-read (the caller hit its
    size cap) would only be finalised by the garbage collector, outside any task.
    """

    def __init__(self, pool: LeanTransport, conn: _Connection, kind: Framing, length: int,
                 reusable: bool, first: bytes) -> None:
        self._pool = pool
        self._conn: _Connection | None = conn
        self._kind = kind
        self._length = length
        self._left = length  # Framing.LENGTH: bytes still due
        self._reusable = reusable
        self._pending = first  # bytes read with the head, not yet given out
        self._decoder = http1.ChunkedDecoder() if kind is Framing.CHUNKED else None
        self._decoded: list[bytes] = []
        self._complete = False

    @property
    def declared_length(self) -> int | None:
        """The answer's Content-Length (what it said before a byte of body was read); None
        for a chunked answer or one that ends at the connection's close."""
        if self._kind is Framing.LENGTH:
            return self._length
        return 0 if self._kind is Framing.NONE else None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        try:
            chunk = await self._next_chunk(conn.stream)
        except http1.ProtocolError as exc:
            self._drop()
            raise httpx2.RemoteProtocolError(str(exc)) from exc
        except _IO_ERRORS as exc:
            self._drop()
            raise httpx2.ReadError(_describe(exc)) from exc
        except BaseException:
            # Cancelled (the attempt's timeout), or a bug: the connection is mid-answer.
            self._drop()
            raise
        if chunk is None:
            self._complete = True
            self._release()
            raise StopAsyncIteration
        return chunk

    async def _read(self, stream: trio.abc.Stream) -> bytes:
        """What came with the head, else the next bytes from the socket (b"" at its end)."""
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return bytes(await stream.receive_some(RECEIVE_SIZE))

    async def _next_chunk(self, stream: trio.abc.Stream) -> bytes | None:
        """The next piece of the body; None at its end."""
        kind = self._kind
        if kind is Framing.LENGTH:
            if not self._left:
                return None
            data = await self._read(stream)
            if not data:
                raise http1.ProtocolError("server closed the connection mid-answer")
            if len(data) > self._left:
                self._reusable = False  # bytes after the answer: nobody asked for them
                data = data[:self._left]
            self._left -= len(data)
            return data
        decoder = self._decoder
        if decoder is not None:  # Framing.CHUNKED
            while not self._decoded:
                if decoder.done:
                    if decoder.unused:
                        self._reusable = False
                    return None
                data = await self._read(stream)
                if not data:
                    raise http1.ProtocolError("server closed the connection mid-answer")
                self._decoded = decoder.feed(data)
            return self._decoded.pop(0)
        if kind is Framing.CLOSE:
            return (await self._read(stream)) or None
        if self._pending:
            self._reusable = False  # a body where none may be
        return None

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._reusable:
            self._pool._checkin(conn)
        else:
            conn.close_now()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close_now()

    async def aclose(self) -> None:
        # Read to the end: back to the pool. Not read to the end: the rest of the answer is
        # still on the wire, so the connection cannot carry another request.
        if self._complete:
            self._release()
        else:
            self._drop()


class LeanTransport(httpx2.AsyncBaseTransport):
    """Direct HTTP/1.1 connections for the httpx2 client; see the module docstring."""

    def __init__(self, ssl_context: ssl.SSLContext, *,
                 keepalive_expiry: float = KEEPALIVE_EXPIRY,
                 max_idle: int = MAX_IDLE) -> None:
        self._ssl = ssl_context
        self._expiry = keepalive_expiry
        self._max_idle = max_idle
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._closed = False
        self.connections_opened = 0  # for tests and the benchmark

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None = None,
                        exc_value: BaseException | None = None,
                        traceback: TracebackType | None = None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        for stack in self._idle.values():
            for conn in stack:
                conn.close_now()
        self._idle.clear()
        self._idle_count = 0

    def idle_connections(self) -> int:
        return self._idle_count

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        head, body = await self.send(request.method, destination(request.url),
                                     request.headers.raw, await request.aread())
        return httpx2.Response(
            status_code=head.status,
            headers=head.headers,
            stream=body,
            extensions={"http_version": b"HTTP/1.1" if head.http_minor else b"HTTP/1.0",
                        "reason_phrase": head.reason},
        )

    async def send(self, method: str, where: Destination, headers: list[http1.Header],
                   content: bytes) -> tuple[http1.ResponseHead, BodyStream]:
        """One exchange without httpx2's request and response models: ``headers`` go out
        exactly as given (Host and Content-Length included: the caller writes them, see
        ``http_client.request_headers``), then ``content``. Returns the answer's head and its
        body, which the caller reads and then closes (``aclose``) in every case.

        The Transport's direct path (``http_client.direct_transport``) calls this: building an
        ``httpx2.Request`` and ``httpx2.Response`` (three header models, the URL's and the
        headers' normalisation) was about a fifth of a ``Transport.call``'s CPU."""
        origin = where.origin
        try:
            data = http1.encode_request(method.encode("ascii"), where.target, headers)
        except (http1.ProtocolError, UnicodeEncodeError) as exc:
            raise httpx2.LocalProtocolError(str(exc)) from exc
        data += content
        conn = self._checkout(origin)
        if conn is not None:
            try:
                return await self._exchange(conn, data, method)
            except _StaleConnection:
                pass  # closed by the server while idle: once more, on a fresh connection
        return await self._exchange(await self._connect(origin), data, method)

    def _checkout(self, origin: Origin) -> _Connection | None:
        stack = self._idle.get(origin)
        if not stack:
            return None
        now = trio.current_time()
        while stack:
            conn = stack.pop()
            self._idle_count -= 1
            if now - conn.idle_since > self._expiry:
                # Everything below the top has been idle even longer.
                conn.close_now()
                for older in stack:
                    older.close_now()
                self._idle_count -= len(stack)
                stack.clear()
                return None
            if conn.readable():
                conn.close_now()
                continue
            conn.reused = True
            return conn
        return None

    def _checkin(self, conn: _Connection) -> None:
        if self._closed or self._idle_count >= self._max_idle:
            conn.close_now()
            return
        conn.idle_since = trio.current_time()
        self._idle.setdefault(conn.origin, []).append(conn)
        self._idle_count += 1

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii")
        try:
            tcp = await trio.open_tcp_stream(host, port)
        except OSError as exc:
            raise httpx2.ConnectError(_describe(exc)) from exc
        # trio's connect (happy eyeballs, TCP_NODELAY) made the socket; the exchanges run on
        # the plain socket it hands over (see _SocketIO).
        raw = _SocketIO(socket.socket(fileno=tcp.socket.detach()))
        stream: trio.abc.Stream = raw
        if scheme == b"https":
            tls = trio.SSLStream(raw, self._ssl, server_hostname=host, https_compatible=True)
            try:
                await tls.do_handshake()
            except _IO_ERRORS as exc:
                raw.close()
                raise httpx2.ConnectError(_describe(exc)) from exc
            except BaseException:
                raw.close()
                raise
            stream = tls
        self.connections_opened += 1
        return _Connection(stream, raw, origin)

    async def _exchange(self, conn: _Connection, data: bytes,
                        method: str) -> tuple[http1.ResponseHead, BodyStream]:
        try:
            await _send(conn, data)
            head, rest = await _receive_head(conn, safe_to_repeat=method in _IDEMPOTENT)
            kind, length, reusable = http1.framing(head, head_request=method == "HEAD")
        except http1.ProtocolError as exc:
            conn.close_now()
            raise httpx2.RemoteProtocolError(str(exc)) from exc
        except BaseException:
            # Cancelled mid-exchange (the attempt's timeout), a stale connection, or an
            # httpx2 error: a half-used connection never goes back to the pool.
            conn.close_now()
            raise
        return head, BodyStream(self, conn, kind, length, reusable, rest)


async def _send(conn: _Connection, data: bytes) -> None:
    try:
        await conn.stream.send_all(data)
    except _IO_ERRORS as exc:
        if conn.reused:
            # The whole request never reached the kernel, so the server cannot have acted
            # on it: safe to send again whatever the method.
            raise _StaleConnection from exc
        raise httpx2.WriteError(_describe(exc)) from exc


async def _receive_head(conn: _Connection, *,
                        safe_to_repeat: bool) -> tuple[http1.ResponseHead, bytes]:
    """Read up to the final status line and headers (1xx answers are skipped); with it, the
    bytes that came after it."""
    # Sending again is safe only on a reused connection (it may have been closed by the
    # server while idle), for an idempotent method, and before any byte of an answer.
    stale_if_closed = conn.reused and safe_to_repeat
    buffer = b""
    while True:
        end = http1.head_end(buffer)
        while end < 0:
            if len(buffer) > http1.MAX_HEAD:
                raise http1.ProtocolError(f"response head over {http1.MAX_HEAD} bytes")
            try:
                chunk = bytes(await conn.stream.receive_some(RECEIVE_SIZE))
            except _IO_ERRORS as exc:
                if stale_if_closed:
                    raise _StaleConnection from exc
                raise httpx2.ReadError(_describe(exc)) from exc
            if not chunk:
                if stale_if_closed:
                    raise _StaleConnection
                raise httpx2.RemoteProtocolError("server disconnected without sending an answer")
            stale_if_closed = False
            searched = len(buffer)
            buffer += chunk
            end = http1.head_end(buffer, searched)
        if end > http1.MAX_HEAD:
            raise http1.ProtocolError(f"response head over {http1.MAX_HEAD} bytes")
        head = http1.parse_response_head(buffer[:end])
        buffer = buffer[end:]
        if head.status == 101 or head.status < 100:
            raise http1.ProtocolError(f"unexpected status {head.status}")
        if head.status >= 200:
            return head, buffer


def _describe(exc: BaseException) -> str:
    """The useful part of a socket or TLS failure: trio wraps ssl errors in
    BrokenResourceError, whose own text is empty."""
    cause = exc.__cause__ or exc.__context__
    text = str(exc)
    if cause is not None and not text:
        text = str(cause) or type(cause).__name__
    return text or type(exc).__name__
