"""Errors of use cases, each mapped to one CLI exit and one API status."""

from __future__ import annotations


class CommandError(Exception):
    """A use case refused; the message is for the person who asked."""

    status = 400


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
