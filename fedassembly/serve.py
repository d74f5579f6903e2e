"""``fedassembly serve``: listen first, then open the database, run until SIGINT or SIGTERM.

The port is bound before anything else: a port already in use is one line and exit 1, and the
database is never touched (a node that opened it and then failed to listen would hold it, and
mid-write its lock, while the real node answers 500).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from fedassembly import __version__
from fedassembly.main import build_app
from fedassembly.settings import Settings, startup_warnings
from fedassembly.web.common import NODE

log = logging.getLogger("fedassembly")


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets bound and listening on every address of ``host``; OSError when one cannot be."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    made: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            made.append(sock)
            if sys.platform != "win32":  # on Windows it would let another process share the port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(1024)
            sock.setblocking(False)
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the node's loop on uvloop where it exists (Linux, macOS), else on asyncio's own.

    The node is bound by its event loop's own cost (HTTP, sockets, callbacks); uvloop cuts it by
    about a tenth on bench/votes.py and bench/inbox.py.
    """
    try:
        import uvloop
    except ImportError:  # Windows: uvloop is not installed there (see pyproject.toml)
        asyncio.run(main)
    else:
        uvloop.run(main)


def settle_garbage_collector() -> None:
    """Stop rescanning what start-up made, and collect the young generation less often.

    Modules, routes and caches live as long as the node, yet every full collection walked them
    again; a request allocates hundreds of short-lived objects, most gone before any collection.
    In bench/votes.py the defaults spent 3% of the node's CPU in 253 young and 2 full collections;
    frozen, with ten thousand allocations between young collections: 2 young ones, 3 ms. Cycles are
    still collected.
    """
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def serve(settings: Settings, config: Path | None) -> int:
    """Run the node; 1 with one line on stderr when it cannot listen."""
    try:
        sockets = listening_sockets(settings.host, settings.port)
    except OSError as error:
        reason = error.strerror or str(error)
        print(f"fedassembly: cannot listen on {settings.host}:{settings.port}: {reason}", file=sys.stderr)
        return 1
    try:
        run_event_loop(_serve(settings, config, sockets))
    finally:
        for sock in sockets:
            sock.close()
    return 0


async def _serve(settings: Settings, config: Path | None, sockets: list[socket.socket]) -> None:
    for warning in startup_warnings(settings):
        log.warning("%s", warning)
    # Deliveries get a core of their own when there is one to spare.
    app = build_app(settings, sender_process=(os.cpu_count() or 1) > 1)
    runner = web.AppRunner(app, access_log=None)
    try:
        await runner.setup()  # opens (creating and migrating) the database, starts the workers
        for sock in sockets:
            await web.SockSite(runner, sock, backlog=1024).start()
        settle_garbage_collector()
        log.info(
            "fedassembly %s serving %s on %s:%s; config %s; database %s%s", __version__, settings.base,
            settings.host, settings.port, os.path.abspath(config) if config else "built-in defaults",
            os.path.abspath(settings.storage_path), " (created now)" if app[NODE].db.created else "",
        )
        log.info("stopping on %s", await _stop_signal())
    finally:
        await runner.cleanup()
    log.info("stopped")


async def _stop_signal() -> str:
    """Wait for SIGINT or SIGTERM; its name."""
    received: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on(name: str) -> None:
        if not received.done():
            received.set_result(name)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on, sig.name)
    return await received
