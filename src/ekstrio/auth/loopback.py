"""The loopback redirect server of the PKCE sign-in: 127.0.0.1 only, one answer per connection.

HTTP is parsed by h11 (a dependency already, through httpcore), never by hand. The request is
untrusted: only a GET of the callback path with our ``state`` (compared in constant time)
ends the wait; anything else gets its answer and the server keeps serving.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import h11
import trio

from ekstrio.aws import oidc

# One loopback connection may take this long to send its request; a browser's idle
# pre-connect must not hold the callback server.
CALLBACK_READ_S = 10.0
# The request line and headers of a callback are a few hundred bytes; refuse far more.
MAX_REQUEST_HEAD = 16384

_PAGES = {
    200: "Signed in. You can close this tab and return to the terminal.",
    400: "This sign-in link is not valid (state mismatch); start again from the terminal.",
    404: "Not found.",
}
_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}


@dataclass(frozen=True, slots=True)
class CallbackResult:
    code: str | None = None
    error: str | None = None
    error_description: str | None = None

    def __repr__(self) -> str:
        return f"CallbackResult(code={'…' if self.code else None}, error={self.error!r})"


def parse_callback(target: str, expected_state: str) -> tuple[int, CallbackResult | None]:
    """An HTTP request target on the loopback server → (status to answer, result or None).

    None means "not the callback we wait for" (a favicon, a stray request,
    a wrong ``state``): answer and keep waiting.
    """
    parts = urlsplit(target)
    if parts.path != oidc.CALLBACK_PATH:
        return 404, None
    query = parse_qs(parts.query)

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    state = first("state") or ""
    # Constant-time: the state is what ties this redirect to our request.
    if not hmac.compare_digest(state.encode(), expected_state.encode()):
        return 400, None
    error = first("error")
    if error:
        return 200, CallbackResult(error=error, error_description=first("error_description"))
    code = first("code")
    if not code:
        return 400, None
    return 200, CallbackResult(code=code)


async def _read_request(stream: trio.SocketStream, conn: h11.Connection) -> h11.Request | None:
    """The request's head, or None when the peer hangs up or does not speak HTTP/1.x."""
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return None
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(4096))  # b"" tells h11 of the EOF
            continue
        return event if isinstance(event, h11.Request) else None


async def _answer(stream: trio.SocketStream, conn: h11.Connection, status: int) -> None:
    body = (f"<!doctype html><meta charset='utf-8'><title>ekstrio</title>"
            f"<p>{_PAGES[status]}</p>").encode()
    head = h11.Response(status_code=status, reason=_REASONS[status], headers=[
        ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
        ("Connection", "close")])
    await stream.send_all(b"".join(conn.send(event) or b"" for event in (
        head, h11.Data(data=body), h11.EndOfMessage())))


async def serve_one(stream: trio.SocketStream, expected_state: str) -> CallbackResult | None:
    """Answer one connection; the result when it was our callback (error or code)."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_HEAD)
    request = await _read_request(stream, conn)
    if request is None or request.method != b"GET":
        return None
    status, result = parse_callback(request.target.decode("latin-1"), expected_state)
    await _answer(stream, conn, status)
    return result


async def wait_for_callback(
    listeners: list[trio.SocketListener], expected_state: str
) -> CallbackResult:
    """Serve the loopback redirect until the callback with our ``state`` arrives."""
    found: list[CallbackResult] = []

    async with trio.open_nursery() as nursery:

        async def handle(stream: trio.SocketStream) -> None:
            try:
                async with stream:
                    with trio.move_on_after(CALLBACK_READ_S):
                        result = await serve_one(stream, expected_state)
                        if result is not None and not found:
                            found.append(result)
                            nursery.cancel_scope.cancel()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                # A browser that hangs up early is not our failure; keep serving.
                return

        nursery.start_soon(trio.serve_listeners, handle, listeners)
    return found[0]


async def open_loopback() -> tuple[list[trio.SocketListener], int]:
    """Listen on 127.0.0.1 (only), on a free port."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    return listeners, int(port)
