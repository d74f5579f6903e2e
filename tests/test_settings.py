"""Settings from TOML: config.example.toml shows every default; limits refuse nonsense values."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedassembly.settings import Settings, SettingsError, load_settings, settings_from_mapping

ROOT = Path(__file__).resolve().parent.parent


def test_the_example_file_states_the_defaults() -> None:
    assert load_settings(ROOT / "config.example.toml") == Settings()


def test_the_limits_for_strangers_and_their_defaults() -> None:
    defaults = Settings()
    assert (defaults.failed_fetch_seconds, defaults.stranger_rate_per_host, defaults.stranger_burst) == (
        600.0, 50.0, 200,
    )
    assert (defaults.stored_refusal_bytes, defaults.reply_excerpt_chars) == (4096, 80)
    chosen = settings_from_mapping({"federation": {
        "failed_fetch_seconds": 30, "stranger_rate_per_host": 2.5, "stranger_burst": 10,
        "stored_refusal_bytes": 1024, "reply_excerpt_chars": 20,
    }})
    assert chosen.failed_fetch_seconds == 30.0
    assert (chosen.stranger_rate_per_host, chosen.stranger_burst) == (2.5, 10)
    assert (chosen.stored_refusal_bytes, chosen.reply_excerpt_chars) == (1024, 20)


@pytest.mark.parametrize(("key", "value"), [
    ("failed_fetch_seconds", -1),
    ("stranger_rate_per_host", 0),
    ("stranger_burst", 0),
    ("stranger_burst", 1.5),
    ("stored_refusal_bytes", 100),
    ("reply_excerpt_chars", 0),
])
def test_a_bad_limit_is_refused_with_its_name(key: str, value: object) -> None:
    with pytest.raises(SettingsError, match=key):
        settings_from_mapping({"federation": {key: value}})
