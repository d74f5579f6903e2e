"""Errors of use cases, each mapped to one CLI exit, one API status or one inbox answer."""

from __future__ import annotations


class CommandError(Exception):
    """A use case refused; the message is for the person who asked, ``reason`` (when set) a code
    for programs (the API's error body carries it)."""

    status = 400
    reason: str | None = None


class InvalidError(CommandError):
    status = 400


class UnauthorizedError(CommandError):
    status = 401


class ForbiddenError(CommandError):
    status = 403


class NotFoundError(CommandError):
    status = 404


class ConflictError(CommandError):
    status = 409


class TooLargeError(CommandError):
    status = 413


class HandlerError(CommandError):
    """A verified activity refused with an HTTP status: the unit rolls back, the activity's record
    included, and the inbox answers ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
