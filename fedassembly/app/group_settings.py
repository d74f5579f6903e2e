"""An assembly's settings (``assembly set``): who reads ballots and the roster, vote receipts."""

from __future__ import annotations

from typing import Any

from storage.actors import LocalActor

SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "ballots": ("public", "members", "hidden"),
    "roster": ("public", "members"),
}
# Ballots are roll-call and the tally recountable by anyone, so public by default;
# a neighbourhood roster names people: visible to members unless the assembly opens it.
DEFAULT_SETTINGS: dict[str, Any] = {"ballots": "public", "roster": "members", "vote_receipts": True}


def group_settings(group: LocalActor) -> dict[str, Any]:
    """An assembly's settings with defaults filled in (``vote_receipts`` is a boolean)."""
    return {key: group.settings.get(key, default) for key, default in DEFAULT_SETTINGS.items()}


def group_setting(group: LocalActor, key: str) -> Any:
    """One setting of an assembly, or its default when never set."""
    return group_settings(group)[key]
