"""The HTTP signature scheme each remote host is signed in first, as last learned (one row a host)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Connection, fetchall


@dataclass(frozen=True, slots=True)
class SignatureScheme:
    host: str
    scheme: str  # 'draft-cavage' or 'rfc9421' (the table's CHECK)
    learned_at: float


async def list_signature_schemes(conn: Connection, since: float) -> list[SignatureScheme]:
    """Every host's choice learned at ``since`` or later."""
    rows = await fetchall(
        conn, "SELECT host, scheme, learned_at FROM signature_schemes WHERE learned_at >= ?", (since,)
    )
    return [SignatureScheme(row[0], row[1], float(row[2])) for row in rows]


async def put_signature_schemes(conn: Connection, choices: Iterable[SignatureScheme]) -> None:
    """Store these hosts' choices, replacing what each had."""
    await conn.executemany(
        "INSERT INTO signature_schemes (host, scheme, learned_at) VALUES (?, ?, ?)"
        " ON CONFLICT (host) DO UPDATE SET scheme = excluded.scheme, learned_at = excluded.learned_at",
        [(choice.host, choice.scheme, choice.learned_at) for choice in choices],
    )


async def delete_signature_schemes_before(conn: Connection, cutoff: float) -> None:
    """Forget the choices learned before ``cutoff`` (they no longer hold)."""
    await conn.execute("DELETE FROM signature_schemes WHERE learned_at < ?", (cutoff,))
