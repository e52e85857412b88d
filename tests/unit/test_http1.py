"""aws/http1: the lean transport's HTTP/1.1 codec, on canned bytes (the same transport over
real sockets, next to httpx2's own, is tests/integration/test_http_transports.py)."""

from __future__ import annotations

import pytest

from ekstrio.aws import http1
from ekstrio.aws.http1 import ChunkedDecoder, Framing, ProtocolError


def head(text: bytes) -> http1.ResponseHead:
    return http1.parse_response_head(text)


def test_encode_request_writes_the_request_line_and_headers() -> None:
    wire = http1.encode_request(b"POST", b"/clusters?a=b%2Fc", [
        (b"Host", b"eks.eu-west-1.amazonaws.com"), (b"X-Amz-Date", b"20261203T000000Z")])
    assert wire == (b"POST /clusters?a=b%2Fc HTTP/1.1\r\nHost: eks.eu-west-1.amazonaws.com\r\n"
                    b"X-Amz-Date: 20261203T000000Z\r\n\r\n")


@pytest.mark.parametrize(("method", "target", "headers"), [
    (b"GET", b"/x", [(b"x-token", b"abc\r\nInjected: yes")]),  # header splitting
    (b"GET", b"/x", [(b"x-token", b"abc\ndef")]),
    (b"GET", b"/x", [(b"x-token", b"a\x00b")]),
    (b"GET", b"/x", [(b"bad name", b"v")]),
    (b"GET", b"/x", [(b"", b"v")]),
    (b"GET", b"/a b", []),
    (b"GET", b"/a\r\nHost: evil", []),
    (b"G T", b"/", []),
])
def test_encode_request_refuses_what_would_change_the_message(
        method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(ProtocolError):
        http1.encode_request(method, target, headers)


def test_parse_response_head_reads_status_reason_and_headers() -> None:
    parsed = head(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                  b"X-Amzn-RequestId:  abc \t\r\nX-Empty:\r\n\r\n")
    assert (parsed.status, parsed.reason, parsed.http_minor) == (404, b"Not Found", 1)
    assert parsed.headers == [(b"content-type", b"application/json"),
                              (b"x-amzn-requestid", b"abc"), (b"x-empty", b"")]
    assert head(b"HTTP/1.0 200\r\n\r\n").reason == b""
    assert head(b"HTTP/1.1 200 \r\n\r\n").status == 200


@pytest.mark.parametrize("raw", [
    b"HTTP/2 200 OK\r\n\r\n",
    b"HTTP/1.1 20 OK\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nname : value\r\n\r\n",  # space before the colon
    b"HTTP/1.1 200 OK\r\nname: a\r\n folded\r\n\r\n",  # obs-fold
    b"HTTP/1.1 200 OK\r\nname: a\nb: c\r\n\r\n",  # bare LF
    b"HTTP/1.1 200 OK\r\nname: a\x00b\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n",  # unterminated
])
def test_parse_response_head_refuses_malformed_heads(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        head(raw)


def test_head_end_finds_the_empty_line_across_reads() -> None:
    data = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"
    assert http1.head_end(data) == len(data) - 4
    assert http1.head_end(data[:20]) == -1
    # Searching again from where a shorter buffer stopped still sees a split "\r\n\r\n".
    assert http1.head_end(data, start=len(b"HTTP/1.1 200 OK\r\nA: b\r\n")) == len(data) - 4


@pytest.mark.parametrize(("raw", "head_request", "expected"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", False, (Framing.LENGTH, 12, True)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\n", False,
     (Framing.LENGTH, 12, True)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 12, 12\r\n\r\n", False, (Framing.LENGTH, 12, True)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False, (Framing.NONE, 0, True)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", True, (Framing.NONE, 0, True)),
    (b"HTTP/1.1 204 No Content\r\n\r\n", False, (Framing.NONE, 0, True)),
    (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", False, (Framing.NONE, 0, True)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", False,
     (Framing.CHUNKED, 0, True)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n", False,
     (Framing.CHUNKED, 0, True)),
    # Both: chunked wins and the connection is not trusted with another request.
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", False,
     (Framing.CHUNKED, 0, False)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length:\r\n\r\n", False,
     (Framing.CHUNKED, 0, False)),  # even an empty Content-Length
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", False,
     (Framing.CHUNKED, 0, False)),
    (b"HTTP/1.1 200 OK\r\n\r\n", False, (Framing.CLOSE, 0, False)),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", False, (Framing.LENGTH, 2, False)),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\n", False,
     (Framing.LENGTH, 2, False)),
])
def test_framing_follows_rfc_9112(raw: bytes, head_request: bool,
                                  expected: tuple[Framing, int, bool]) -> None:
    assert http1.framing(head(raw), head_request=head_request) == expected


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 13\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
])
def test_framing_refuses_what_it_cannot_delimit(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        http1.framing(head(raw), head_request=False)


CHUNKED = (b"5;name=value\r\nhello\r\n1A\r\n" + b"x" * 26 + b"\r\n0\r\n"
           b"Trailer-One: 1\r\nTrailer-Two: 2\r\n\r\n")


def decode_in_pieces(data: bytes, sizes: list[int]) -> tuple[bytes, ChunkedDecoder]:
    decoder = ChunkedDecoder()
    out = []
    at = 0
    for size in sizes:
        out += decoder.feed(data[at:at + size])
        at += size
    out += decoder.feed(data[at:])
    return b"".join(out), decoder


def test_chunked_body_decodes_the_same_however_it_is_split() -> None:
    expected = b"hello" + b"x" * 26
    whole, decoder = decode_in_pieces(CHUNKED, [])
    assert whole == expected
    assert decoder.done
    assert decoder.unused == b""
    for split in range(1, len(CHUNKED)):
        body, decoder = decode_in_pieces(CHUNKED, [split])
        assert body == expected, split
        assert decoder.done
    body, decoder = decode_in_pieces(CHUNKED, [1] * len(CHUNKED))
    assert body == expected
    assert decoder.done


def test_chunked_decoder_keeps_what_came_after_the_body() -> None:
    _, decoder = decode_in_pieces(CHUNKED + b"HTTP/1.1 200", [])
    assert decoder.done
    assert decoder.unused == b"HTTP/1.1 200"
    assert decoder.feed(b" OK") == []
    assert decoder.unused == b"HTTP/1.1 200 OK"


def test_chunked_decoder_is_not_done_before_the_last_chunk() -> None:
    body, decoder = decode_in_pieces(CHUNKED[:-2], [])
    assert body == b"hello" + b"x" * 26
    assert not decoder.done


@pytest.mark.parametrize("raw", [
    b"zz\r\nhello\r\n0\r\n\r\n",  # not hex
    b"5\r\nhelloX\r\n0\r\n\r\n",  # data longer than its size
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"11111111111111111\r\n",  # more than 16 hex digits
    b"0\r\nbad trailer\r\n\r\n",
])
def test_chunked_decoder_refuses_malformed_bodies(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        ChunkedDecoder().feed(raw)


def test_chunked_decoder_bounds_a_size_line_that_never_ends() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"5;" + b"e" * (http1.MAX_CHUNK_LINE - 10))
    with pytest.raises(ProtocolError):
        decoder.feed(b"e" * 10)


def test_chunked_decoder_bounds_trailers() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"0\r\n")
    line = b"T: " + b"v" * 1000 + b"\r\n"
    for _ in range(http1.MAX_TRAILERS // len(line)):
        decoder.feed(line)  # up to the bound: fine
    with pytest.raises(ProtocolError):
        decoder.feed(line * 2)
