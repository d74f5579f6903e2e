"""Logging for the whole process: lines for people (``text``) or one JSON object per line (``json``).

A JSON line has ``ts``, ``level``, ``event`` and, inside a request, ``request_id``; an access
line (``fedassembly.web.access``) is ``event: "request"`` with ``method``, ``path``, ``status``
and ``ms``. Records are formatted in the thread and context that logged them, so the request id
is read from its context variable at format time, with no filter on the way.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from fedassembly.web.access import ACCESS_LOGGER, REQUEST_ID

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; ``ts`` in UTC with milliseconds."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        event: dict[str, Any] = {
            "ts": f"{seconds}.{int(record.msecs):03d}Z", "level": record.levelname.lower()
        }
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) == 5:
            request_id, method, path, status, ms = record.args
            event.update(
                event="request", request_id=request_id, method=method, path=path, status=status,
                ms=round(ms, 1) if isinstance(ms, float) else ms,
            )
        else:
            event["event"] = record.getMessage()
            event["logger"] = record.name
            request_id = REQUEST_ID.get()
            if request_id is not None:
                event["request_id"] = request_id
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def level_number(name: str) -> int:
    """A ``log.level`` name as logging's number."""
    return logging.getLevelNamesMapping()[name.upper()]


def setup_logging(level: str, format: str, *, stream: TextIO | None = None) -> None:
    """Send every logger's records at ``level`` or above to ``stream`` (stderr) in ``format``."""
    # Neither format shows the caller's file and line, the thread or the process, so a record
    # need not look them up: the logging HOWTO's "Optimization" settings. The caller lookup walks
    # the stack on every record; together they take a fifth off the cost of an access line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_number(level))
