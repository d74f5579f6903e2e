"""Test support: real nodes on loopback and a scriptable remote fediverse server."""
