"""What storage raises."""

from __future__ import annotations


class StorageError(Exception):
    """A storage operation failed."""


class MissingDatabaseError(StorageError):
    """There is no database file where one was expected."""


class DatabaseLockedError(StorageError):
    """Another process kept the write lock for longer than the busy timeout."""
