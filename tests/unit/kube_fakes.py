"""A fake Kubernetes API server over real TLS on 127.0.0.1, for the live-check tests.

trustme makes a CA and a certificate for 127.0.0.1; h11 parses the requests. ``answer`` maps
(path, JSON body, bearer token) to (status, JSON); a ``None`` answer stalls the request until
the test ends (a server that accepts and never replies).
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import h11
import trio
import trustme

Answer = Callable[[str, dict[str, Any], str], "tuple[int, dict[str, Any]] | None"]


@dataclass
class FakeKube:
    endpoint: str
    ca_data: str  # base64 PEM, as DescribeCluster's certificateAuthority.data
    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def ca_data(ca: trustme.CA) -> str:
    return base64.b64encode(ca.cert_pem.bytes()).decode()


async def _serve_one(stream: trio.SSLStream[trio.SocketStream], answer: Answer,
                     kube: FakeKube) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            request: h11.Request | None = None
            body = b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return
            assert request is not None
            headers = {k.decode().lower(): v.decode() for k, v in request.headers}
            token = headers.get("authorization", "").removeprefix("Bearer ")
            doc = json.loads(body or b"{}")
            path = request.target.decode()
            kube.seen.append((path, doc))
            reply = answer(path, doc, token)
            if reply is None:
                await trio.sleep_forever()
                return
            status, out = reply
            payload = json.dumps(out).encode()
            await stream.send_all(conn.send(h11.Response(status_code=status, headers=[
                ("content-type", "application/json"), ("content-length", str(len(payload)))])))
            await stream.send_all(conn.send(h11.Data(data=payload)))
            await stream.send_all(conn.send(h11.EndOfMessage()))
            conn.start_next_cycle()
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
        return
    finally:
        await trio.aclose_forcefully(stream)


@asynccontextmanager
async def fake_kube(answer: Answer, *, prefix: str = "/k8s/web",
                    ca: trustme.CA | None = None) -> AsyncIterator[FakeKube]:
    """Serve ``answer`` over TLS; ``ca`` signs the server certificate (default: a new CA,
    the one whose data ``FakeKube.ca_data`` holds)."""
    trusted = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    (ca or trusted).issue_cert("127.0.0.1").configure_cert(context)
    kube = FakeKube("", ca_data(trusted))
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(
            trio.serve_ssl_over_tcp, lambda s: _serve_one(s, answer, kube), 0, context,
            host="127.0.0.1"))
        port = listeners[0].transport_listener.socket.getsockname()[1]
        kube.endpoint = f"https://127.0.0.1:{port}{prefix}"
        yield kube
        nursery.cancel_scope.cancel()
