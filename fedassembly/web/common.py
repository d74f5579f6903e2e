"""Shared HTTP plumbing: the node key, content negotiation, JSON and HTML answers."""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

from fedassembly.app.node import Node
from fedassembly.app.vocab import AP_CONTENT_TYPE

NODE = web.AppKey("node", Node)


def node_of(request: web.Request) -> Node:
    """The node serving this request."""
    return request.app[NODE]


def wants_activity_json(request: web.Request) -> bool:
    """True when Accept names activity+json, or ld+json with the ActivityStreams profile."""
    accept = request.headers.get("Accept", "").lower()
    if "application/activity+json" in accept:
        return True
    return "application/ld+json" in accept and "activitystreams" in accept


def activity_response(doc: dict[str, Any], status: int = 200) -> web.Response:
    """An ActivityPub document (varies on Accept)."""
    return web.Response(
        status=status,
        body=json.dumps(doc).encode(),
        content_type=AP_CONTENT_TYPE,
        headers={"Vary": "Accept", "Access-Control-Allow-Origin": "*"},
    )


def json_response(data: Any, status: int = 200) -> web.Response:
    """A plain JSON answer (the API)."""
    return web.Response(status=status, body=json.dumps(data).encode(), content_type="application/json")


def error_response(status: int, message: str, reason: str | None = None) -> web.Response:
    """The API's error shape ``{"error": "...", "reason"?: code}``."""
    body: dict[str, str] = {"error": message}
    if reason is not None:
        body["reason"] = reason
    return json_response(body, status)


def html_page(title: str, body_html: str, status: int = 200) -> web.Response:
    """A minimal HTML page (``body_html`` must already be escaped)."""
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main>{body_html}</main></body></html>"
    )
    return web.Response(status=status, text=page, content_type="text/html", headers={"Vary": "Accept"})


def page_or_document(request: web.Request, doc: dict[str, Any], title: str, body_html: str) -> web.Response:
    """The document as JSON when asked for ActivityPub, else an HTML page."""
    if wants_activity_json(request):
        return activity_response(doc)
    return html_page(title, body_html)
