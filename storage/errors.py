"""What storage raises."""

from __future__ import annotations


class StorageError(Exception):
    """A storage operation failed."""


class MissingDatabaseError(StorageError):
    """There is no database file where one was expected."""


class DatabaseLockedError(StorageError):
    """Another process kept the write lock for longer than the busy timeout."""


def reason_of(error: BaseException) -> str:
    """An error as one short phrase: an OS error's own words, else its text."""
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)
