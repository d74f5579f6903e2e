"""A lean HTTP/1.1 client for the benchmarks: prepared request bytes, only the status line and
Content-Length of each answer read.

aiohttp's client cost a quarter of a core in bench/inbox.py, taken from the node it shares the
machine with. ``post_all`` is closed-loop (each connection sends its next request when the last
one is answered); ``OpenLoopClient`` sends whenever it is told to, on an idle keep-alive
connection or a new one, so a slow answer never delays the next request (bench/soak.py).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

# aiohttp's server closes a connection idle for 75 s; ours are dropped well before.
IDLE_SECONDS = 30.0


def request_bytes(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items())]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one answer; (status, whether the server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, keep = 0, True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    await reader.readexactly(length)
    return status, keep


async def post_all(inbox: str, requests: list[tuple[bytes, dict[str, str]]], connections: int) -> list[int]:
    """POST every request over ``connections`` keep-alive HTTP/1.1 connections; the statuses."""
    target = urlsplit(inbox)
    statuses: list[int] = []
    pending = iter([request_bytes("POST", target.path, body, headers) for body, headers in requests])

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        try:
            for raw in pending:
                writer.write(raw)
                statuses.append((await read_response(reader))[0])
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses


class OpenLoopClient:
    """Sends each request at once: on the most recently used idle connection, else a new one."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0

    async def send(self, raw: bytes) -> int:
        """Write ``raw`` and return the answer's status (OSError or IncompleteReadError on failure)."""
        now = time.monotonic()
        while self._idle and self._idle[0][2] < now - IDLE_SECONDS:
            self._idle.pop(0)[1].close()
        if self._idle:
            reader, writer, _ = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self._host, self._port)
            self.opened += 1
        try:
            writer.write(raw)
            status, keep = await read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return status

    def close(self) -> None:
        """Close every idle connection."""
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()
