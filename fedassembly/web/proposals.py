"""Routes of the proposals part of the assemblies layer."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Register this module's routes."""
