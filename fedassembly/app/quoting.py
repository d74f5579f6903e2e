"""How much of someone's words a reply quotes back: an excerpt of at most a set length.

A reply answers what it was sent, it does not carry it back: a sender cannot make us send (and
sign, and deliver) their megabyte by naming it as a poll option or a delegate.
"""

from __future__ import annotations


def excerpt(text: str, limit: int) -> str:
    """``text`` whole when at most ``limit`` characters, else its beginning and "…", ``limit`` in all."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"
