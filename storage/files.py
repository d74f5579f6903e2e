"""The database's files on disk: folders and files readable by their owner only.

A database holds every actor's private key and the hashes of API tokens, so what fedassembly
creates is private: folders 0700, files 0600 (SQLite gives the WAL and shared-memory files the
permissions of the database file). An existing folder is never changed; one that others may
write to is reported, since whoever can write there can replace the database or its WAL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("storage.files")


def ensure_private_folder(folder: Path) -> None:
    """Create ``folder`` and its missing parents as 0700; warn when an existing one is writable by others."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by someone else meanwhile
            os.mkdir(made, 0o700)
    if not missing:
        mode = folder.stat().st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            log.warning(
                "%s is writable by its group or by anyone (mode %o): others could replace the"
                " database there", os.path.abspath(folder), stat.S_IMODE(mode),
            )


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty and readable by its owner only (0600); False when it already exists."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(descriptor)
    return True


def make_database_file(path: Path) -> bool:
    """Make ``path``'s folder (0700) and the empty file (0600) if missing; True when it was made."""
    ensure_private_folder(path.parent)
    return create_private_file(path)


def remove_quietly(path: Path) -> None:
    """Delete ``path`` if it exists."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        path.unlink()
