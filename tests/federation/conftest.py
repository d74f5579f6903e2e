"""The loopback servers, tripwires, fetchers and TLS pair of tests/support/loopback.py."""

from support.loopback import ap_response, make_fetcher, serve, tls, tripwire

__all__ = ["ap_response", "make_fetcher", "serve", "tls", "tripwire"]
