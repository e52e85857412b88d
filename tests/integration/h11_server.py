"""A tiny scriptable HTTP/1.1 server on trio for transport tests (plain or TLS).

Each request is answered by ``handler(seen) -> Action``; the server records every request it
read and counts connections, so tests can assert keep-alive, reuse and what went on the wire.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import h11
import trio


@dataclass(frozen=True)
class Seen:
    method: bytes
    target: bytes
    headers: dict[bytes, bytes]
    body: bytes
    connection: int  # which connection carried it (1, 2, ...)


@dataclass(frozen=True)
class Action:
    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[bytes, bytes], ...] = ((b"content-type", b"application/json"),)
    close_after: bool = False  # answer, then close the socket (no "Connection: close")
    no_answer: bool = False  # close without answering
    endless: bool = False  # chunked body that never ends
    content_length: int | None = None  # announce this length (body may be shorter: then hang)
    stall: bool = False  # send the head, then nothing


Handler = Callable[[Seen], Action]


@dataclass
class Server:
    url: str
    handler: Handler
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    endless_bytes_sent: int = 0


async def _next_event(conn: h11.Connection, stream: trio.abc.Stream) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await stream.receive_some(65536))


async def _serve_one(server: Server, tls: ssl.SSLContext | None, tcp: trio.SocketStream) -> None:
    server.connections += 1
    number = server.connections
    stream: trio.abc.Stream = tcp
    if tls is not None:
        stream = trio.SSLStream(tcp, tls, server_side=True, https_compatible=True)
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            request = await _next_event(conn, stream)
            if not isinstance(request, h11.Request):
                return
            body = b""
            while True:
                event = await _next_event(conn, stream)
                if isinstance(event, h11.Data):
                    body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:
                    return
            seen = Seen(bytes(request.method), bytes(request.target),
                        {bytes(k): bytes(v) for k, v in request.headers}, body, number)
            server.seen.append(seen)
            action = server.handler(seen)
            if action.no_answer:
                return
            headers = list(action.headers)
            if action.endless:
                headers.append((b"transfer-encoding", b"chunked"))
            else:
                length = len(action.body) if action.content_length is None \
                    else action.content_length
                headers.append((b"content-length", str(length).encode()))
            await stream.send_all(conn.send(h11.Response(status_code=action.status,
                                                         headers=headers)) or b"")
            if action.stall:
                await trio.sleep_forever()
            if action.endless:
                chunk = conn.send(h11.Data(data=b"x" * 65536)) or b""
                while True:
                    await stream.send_all(chunk)
                    server.endless_bytes_sent += 65536
            if action.body:
                await stream.send_all(conn.send(h11.Data(data=action.body)) or b"")
            if action.content_length is not None and action.content_length > len(action.body):
                await trio.sleep_forever()
            await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
            if action.close_after or conn.our_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
        return
    finally:
        await trio.aclose_forcefully(stream)


async def serve(handler: Handler, *, tls: ssl.SSLContext | None = None,
                task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    scheme = "https" if tls is not None else "http"
    host = "localhost" if tls is not None else "127.0.0.1"
    server = Server(f"{scheme}://{host}:{port}", handler)
    async with trio.open_nursery() as nursery:
        task_status.started(server)
        await trio.serve_listeners(partial(_serve_one, server, tls), listeners,
                                   handler_nursery=nursery)
