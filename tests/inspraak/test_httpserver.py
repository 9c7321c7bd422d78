"""uvicorn with the one-write protocol: the same bytes as uvicorn's own, in one write."""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from inspraak.httpserver import OneWriteHttpToolsProtocol

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # uvicorn's loop


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/json``: a small JSON answer; ``/stream``: a chunked body written over many turns."""
    if scope["type"] != "http":
        return
    body = await receive()
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(50):
            await send({"type": "http.response.body", "body": b"%02d," % i, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b"end"})
        return
    answer = b'{"ok":true,"echo":"' + body["body"] + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _serving(http: Any) -> AsyncIterator[int]:
    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=http,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def ours() -> AsyncIterator[int]:
    async for port in _serving(OneWriteHttpToolsProtocol):
        yield port


@pytest.fixture
async def uvicorns() -> AsyncIterator[int]:
    async for port in _serving("httptools"):
        yield port


def _post(path: str, body: bytes, *, close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return b"POST %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %d\r\n\r\n%s" % (
        path.encode(),
        connection,
        len(body),
        body,
    )


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), timeout=10)


def _data_segments_in(writer: asyncio.StreamWriter) -> int:
    """Linux ``tcp_info.tcpi_data_segs_in`` of the client's socket: segments with data."""
    info = writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 160)
    return int(struct.unpack_from("I", info, 152)[0])


async def _segments_of_one_answer(port: int) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_post("/json", b"een"))
    answer = b""
    while not answer.endswith(b"}"):
        answer += await asyncio.wait_for(reader.read(65536), timeout=10)
    segments = _data_segments_in(writer)
    writer.close()
    return segments, answer


@pytest.mark.skipif(sys.platform != "linux", reason="tcp_info is Linux's")
async def test_a_response_is_one_tcp_segment_not_two(ours: int, uvicorns: int) -> None:
    # uvicorn's own protocol sends two (status and headers, then the body; 2026-11-25 on
    # this machine), unless the kernel's autocorking happens to merge them under load.
    assert await _segments_of_one_answer(ours) == (1, (await _segments_of_one_answer(uvicorns))[1])


async def test_keep_alive_and_close_give_uvicorns_own_bytes(ours: int, uvicorns: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", ours)
    writer.write(_post("/json", b"een"))
    first = await asyncio.wait_for(reader.read(65536), timeout=10)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert first.endswith(b'{"ok":true,"echo":"een"}')
    writer.write(_post("/json", b"twee", close=True))  # keep-alive, then close
    second = await _read_all(reader)
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", uvicorns)
    writer.write(_post("/json", b"een") + _post("/json", b"twee", close=True))
    theirs = await _read_all(reader)
    writer.close()
    assert first + second == theirs


async def test_a_streamed_body_is_complete_and_in_order(ours: int, uvicorns: int) -> None:
    answers = []
    for port in (ours, uvicorns):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_post("/stream", b"", close=True))
        answers.append(await _read_all(reader))
        writer.close()
    assert answers[0] == answers[1]
    assert b"transfer-encoding: chunked" in answers[0]
    assert answers[0].endswith(b"3\r\nend\r\n0\r\n\r\n")
    assert b"49," in answers[0]
