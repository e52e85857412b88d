"""The sim's own request/response values and AWS error shapes (no web framework).

A :class:`Request` is built once per HTTP request from the ASGI scope; handlers are plain
functions ``(state, request) -> Response``. Error builders here produce each protocol's exact shape:
rest-json ``{"message"}`` with ``x-amzn-ErrorType`` (EKS, portal), OIDC ``{"error",
"error_description"}``, and the query protocol's XML ``<ErrorResponse>`` (STS).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

_JSON = (b"content-type", b"application/json")
_CORAL = ":http://internal.amazon.com/coral/com.amazon.coral.service/"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # decoded path, no query
    raw_path: str  # as sent (still %-escaped): SigV4 signs this
    raw_query: str  # as sent: SigV4 signs this
    headers: dict[str, str]  # lower-case names; the last value wins
    body: bytes = b""
    query: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, method: str, path: str, raw_path: str, raw_query: str,
              headers: dict[str, str], body: bytes = b"") -> Request:
        query = parse_qs(raw_query, keep_blank_values=True) if raw_query else {}
        return cls(method, path, raw_path, raw_query, headers, body, query)

    def arg(self, name: str) -> str | None:
        """First value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> dict[str, Any] | None:
        """The JSON object body, or None when it is not one."""
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    # Fault injection: drop the connection instead of answering.
    reset: bool = False
    # For stats: which API answered (portal, eks, sts, oidc, admin, other).
    api: str = "other"


def request_id() -> str:
    return str(uuid.uuid4())


def json_response(status: int, data: Any, *, api: str,
                  extra: tuple[tuple[bytes, bytes], ...] = ()) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return raw_json(status, body, api=api, extra=extra)


def raw_json(status: int, body: bytes, *, api: str,
             extra: tuple[tuple[bytes, bytes], ...] = ()) -> Response:
    headers = (_JSON, (b"x-amzn-requestid", request_id().encode()), *extra)
    return Response(status, body, headers, api=api)


def rest_json_error(status: int, code: str, message: str, *, api: str,
                    coral: bool = False, type_prefix: str | None = None,
                    **fields: Any) -> Response:
    """A rest-json error: ``x-amzn-ErrorType`` header plus ``{"message": ...}``.

    ``coral`` appends the ``:http://internal.amazon.com/coral/...`` suffix AWS puts on some
    services' error types (a client must cut at the first ``:``). ``type_prefix`` adds a
    ``__type`` with that namespace, as the SSO portal does.
    """
    header = code + (_CORAL if coral else "")
    body: dict[str, Any] = {"message": message, **fields}
    if type_prefix:
        body["__type"] = f"{type_prefix}#{code}"
    return json_response(status, body, api=api,
                         extra=((b"x-amzn-errortype", header.encode()),))


def oidc_error(status: int, code: str, error: str, description: str) -> Response:
    """SSO OIDC error: ``{"error","error_description"}`` and the coral-style type header."""
    header = f"{code}:http://internal.amazon.com/coral/com.amazonaws.sso.oidc/"
    return json_response(status, {"error": error, "error_description": description},
                         api="oidc", extra=((b"x-amzn-errortype", header.encode()),))


STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def sts_error(status: int, code: str, message: str, *, sender: bool = True) -> Response:
    """STS (query protocol) error: an XML ``<ErrorResponse>``."""
    rid = request_id()
    body = (
        f'<ErrorResponse xmlns="{STS_NS}">\n'
        f"  <Error>\n    <Type>{'Sender' if sender else 'Receiver'}</Type>\n"
        f"    <Code>{escape(code)}</Code>\n    <Message>{escape(message)}</Message>\n"
        f"  </Error>\n  <RequestId>{rid}</RequestId>\n</ErrorResponse>\n"
    ).encode()
    headers = ((b"content-type", b"text/xml"), (b"x-amzn-requestid", rid.encode()))
    return Response(status, body, headers, api="sts")


def html(status: int, text: str, *, api: str = "oidc") -> Response:
    return Response(status, text.encode(), ((b"content-type", b"text/html; charset=utf-8"),),
                    api=api)


def redirect(location: str, *, api: str = "oidc") -> Response:
    return Response(302, b"", ((b"location", location.encode()),), api=api)


# ASGI's callables, as both of the sim's apps (the AWS APIs and the Kubernetes API) use them.
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def read_body(receive: Receive) -> bytes | None:
    """The whole ASGI request body, or None when the client went away first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
