"""The stored records use cases hand to the web layer, named here so ``web/`` never imports storage."""

from __future__ import annotations

from storage.actors import LocalActor as LocalActor
from storage.proposals import Proposal as Proposal

__all__ = ["LocalActor", "Proposal"]
