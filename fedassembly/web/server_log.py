"""aiohttp's log of requests it could not parse, brought down to one line for the sender's mistake.

aiohttp answers a request it cannot parse (a line longer than 8190 bytes, a malformed header,
a bad chunk) with 400 itself, before any route runs, but logs it on ``aiohttp.server`` at ERROR
with a traceback, as it logs a handler that crashed. On a public node that is the sender's fault,
not ours: the filter turns such a record into one INFO line, so that ERROR keeps meaning a bug.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"


class MalformedRequests(logging.Filter):
    """One INFO line, no traceback, for a request aiohttp refused with a 4xx while parsing it."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
            record.msg = f"{record.getMessage()}: refused {error.code}: {error.message[:120]}"
            record.args = ()
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


async def quiet_malformed_requests(app: web.Application) -> None:
    """On startup: install the filter once per process (the logger is global)."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(existing, MalformedRequests) for existing in logger.filters):
        logger.addFilter(MalformedRequests())
