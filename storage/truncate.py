"""What a row keeps of a document someone else sent: at most a given number of bytes.

Refused and no-effect activities are kept for the record (and deduplication), not for use, so
their size is ours to bound rather than the sender's to choose.
"""

from __future__ import annotations

import json
from typing import Any


def cut_text(text: str, max_bytes: int) -> str:
    """``text`` whole when its UTF-8 fits in ``max_bytes``, else its first bytes (never half a
    character)."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def bounded_json(value: Any, max_bytes: int) -> str:
    """``value`` as JSON in at most ``max_bytes`` bytes: whole when it fits, else the object
    ``{"truncated_from_bytes": N, "excerpt": "<the first characters of its JSON>"}``, which
    still reads back as JSON. ``max_bytes`` must leave room for that object (about 60 bytes)."""
    text = json.dumps(value)  # ASCII only: characters are bytes
    if len(text) <= max_bytes:
        return text
    excerpt = text[:max_bytes]
    while True:
        wrapped = json.dumps({"truncated_from_bytes": len(text), "excerpt": excerpt})
        if len(wrapped) <= max_bytes:
            return wrapped
        if not excerpt:
            raise ValueError(f"{max_bytes} bytes cannot hold a truncated document")
        # Escaping the excerpt again lengthens it: drop what is over and look once more.
        excerpt = excerpt[: max(0, len(excerpt) - (len(wrapped) - max_bytes))]
