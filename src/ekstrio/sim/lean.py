"""A lean HTTP/1.1 front end for the sim's ASGI app: h11 on trio sockets (``--server h11``).

hypercorn (the default) costs about 0.55 ms of CPU per request on the project's 2-core machine;
this loop, with the same h11 parser and the same ASGI app behind it, costs about a third of that,
for benchmarks where the sim must stay far from being the bottleneck. It implements only what the
sim needs: one request at a time per connection (keep-alive), whole bodies, no upgrades, no
HTTP/2. A response without a final status (the app sent nothing, or only a 1xx) closes the
connection without answering, which is how ``--reset-rate`` drops connections.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import unquote

import h11
import trio

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]],
                    Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[None]]

MAX_RECV = 65536
KEEP_ALIVE = 75.0  # seconds an idle keep-alive connection stays open
_NEED_DATA = h11.NEED_DATA


class _Date:
    """The Date header, formatted at most once per second."""

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self.second:
            self.second = second
            self.value = email.utils.formatdate(second, usegmt=True).encode()
        return self.value


_DATE = _Date()


async def _next_event(conn: h11.Connection, stream: trio.abc.Stream) -> Any:
    while True:
        event = conn.next_event()
        if event is not _NEED_DATA:
            return event
        conn.receive_data(bytes(await stream.receive_some(MAX_RECV)))


async def _call_app(app: ASGIApp, scope: dict[str, Any],
                    body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the app for one request; (status, headers, body). Status < 200: no final answer."""
    delivered = False
    status, headers, chunks = 0, [], []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await trio.sleep_forever()  # the sim never reads twice
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = int(message["status"]), list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


async def _connection(app: ASGIApp, server: tuple[str, int], scheme: str,
                      stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    raw = stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
    client = raw.socket.getpeername()
    async with stream:
        try:
            while True:
                with trio.move_on_after(KEEP_ALIVE):
                    request = await _next_event(conn, stream)
                if not isinstance(request, h11.Request):
                    return  # idle timeout, closed, or not HTTP
                parts = []
                if conn.they_are_waiting_for_100_continue:  # curl with a large POST body
                    await stream.send_all(conn.send(h11.InformationalResponse(
                        status_code=100, headers=[])) or b"")
                while True:
                    event = await _next_event(conn, stream)
                    if isinstance(event, h11.Data):
                        parts.append(bytes(event.data))
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    else:
                        return
                raw_path, _, query = bytes(request.target).partition(b"?")
                scope = {
                    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                    "method": request.method.decode("ascii"), "scheme": scheme,
                    "path": unquote(raw_path.decode("latin-1")), "raw_path": raw_path,
                    "query_string": query, "root_path": "",
                    "headers": [(bytes(k), bytes(v)) for k, v in request.headers],
                    "client": client[:2], "server": server,
                }
                status, headers, body = await _call_app(app, scope, b"".join(parts))
                if status < 200:
                    return  # drop the connection without a final response
                headers.append((b"date", _DATE.now()))
                out = conn.send(h11.Response(status_code=status, headers=headers))
                out = (out or b"") + (conn.send(h11.Data(data=body)) or b"") \
                    + (conn.send(h11.EndOfMessage()) or b"")
                await stream.send_all(out)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return


async def serve_h11(app: ASGIApp, host: str, port: int,
                    ssl_context: ssl.SSLContext | None = None, *,
                    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Listen on ``host:port`` (0: any free port), report ``http[s]://host:port``, serve
    forever. With ``ssl_context`` every connection is TLS (the sim's cluster endpoints); a
    client that rejects the certificate ends its own handshake, which ends that connection
    only (BrokenResourceError, caught per connection)."""
    sockets = await trio.open_tcp_listeners(port, host=host, backlog=4096)
    bound = sockets[0].socket.getsockname()
    scheme = "https" if ssl_context else "http"
    listeners: list[Any] = ([trio.SSLListener(s, ssl_context, https_compatible=True)
                             for s in sockets] if ssl_context else list(sockets))
    async with trio.open_nursery() as nursery:
        task_status.started(f"{scheme}://{host}:{bound[1]}")
        await trio.serve_listeners(partial(_connection, app, (host, bound[1]), scheme),
                                   listeners, handler_nursery=nursery)
