"""Settings: every key of config.example.toml, loaded once from TOML into a frozen dataclass."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("fedassembly.toml")
# Room for a truncated record's marker and a useful excerpt (storage keeps the marker whole).
MIN_STORED_REFUSAL_BYTES = 256
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


class SettingsError(Exception):
    """The configuration file is unreadable or holds a bad value."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = ""
    storage_path: Path = Path("fedassembly-data/fedassembly.sqlite3")
    allow_private_addresses: bool = False
    max_body_bytes: int = 1_048_576
    blocked_domains: frozenset[str] = field(default_factory=frozenset)
    poll_update_seconds: float = 5.0
    failed_fetch_seconds: float = 600.0
    stranger_rate_per_host: float = 50.0
    stranger_burst: int = 200
    stored_refusal_bytes: int = 4096
    reply_excerpt_chars: int = 80
    first_retry_seconds: float = 30.0
    max_attempts: int = 16
    delivery_concurrency: int = 64
    log_level: str = "info"
    log_format: str = "text"
    busy_timeout_seconds: float = 10.0

    @property
    def base(self) -> str:
        """The public base URL, without a trailing slash."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")


# (section, key) -> (dataclass field, type check and conversion)
_KEYS: dict[tuple[str, str], tuple[str, type]] = {
    ("server", "host"): ("host", str),
    ("server", "port"): ("port", int),
    ("server", "base_url"): ("base_url", str),
    ("storage", "path"): ("storage_path", str),
    ("storage", "busy_timeout_seconds"): ("busy_timeout_seconds", float),
    ("federation", "allow_private_addresses"): ("allow_private_addresses", bool),
    ("federation", "max_body_bytes"): ("max_body_bytes", int),
    ("federation", "blocked_domains"): ("blocked_domains", list),
    ("federation", "poll_update_seconds"): ("poll_update_seconds", float),
    ("federation", "failed_fetch_seconds"): ("failed_fetch_seconds", float),
    ("federation", "stranger_rate_per_host"): ("stranger_rate_per_host", float),
    ("federation", "stranger_burst"): ("stranger_burst", int),
    ("federation", "stored_refusal_bytes"): ("stored_refusal_bytes", int),
    ("federation", "reply_excerpt_chars"): ("reply_excerpt_chars", int),
    ("delivery", "first_retry_seconds"): ("first_retry_seconds", float),
    ("delivery", "max_attempts"): ("max_attempts", int),
    ("delivery", "concurrency"): ("delivery_concurrency", int),
    ("log", "level"): ("log_level", str),
    ("log", "format"): ("log_format", str),
}


def settings_from_mapping(data: dict[str, Any]) -> Settings:
    """Settings from parsed TOML; an unknown key or a wrongly typed value is an error."""
    values: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise SettingsError(f"[{section}] must be a table")
        for key, value in table.items():
            if (section, key) not in _KEYS:
                raise SettingsError(f"unknown setting {section}.{key}")
            name, kind = _KEYS[(section, key)]
            values[name] = _convert(f"{section}.{key}", value, kind)
    if "storage_path" in values:
        values["storage_path"] = Path(values["storage_path"])
    if "blocked_domains" in values:
        values["blocked_domains"] = frozenset(d.lower().rstrip(".") for d in values["blocked_domains"])
    settings = Settings(**values)
    _check(settings)
    return settings


def _convert(name: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise SettingsError(f"{name} must be an integer")
    if not isinstance(value, kind):
        raise SettingsError(f"{name} must be of type {kind.__name__}, not {type(value).__name__}")
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise SettingsError(f"{name} must be a list of strings")
    return value


def _check(settings: Settings) -> None:
    if not 0 <= settings.port <= 65535:
        raise SettingsError("server.port must be between 0 and 65535")
    if settings.base_url and not settings.base_url.startswith(("http://", "https://")):
        raise SettingsError("server.base_url must start with http:// or https://")
    for name in ("max_body_bytes", "max_attempts", "delivery_concurrency", "stranger_burst",
                 "reply_excerpt_chars"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"{name} must be at least 1")
    for name in (
        "poll_update_seconds", "first_retry_seconds", "failed_fetch_seconds", "busy_timeout_seconds"
    ):
        if getattr(settings, name) < 0:
            raise SettingsError(f"{name} must not be negative")
    if not settings.stranger_rate_per_host > 0:
        raise SettingsError("federation.stranger_rate_per_host must be more than 0")
    if settings.stored_refusal_bytes < MIN_STORED_REFUSAL_BYTES:
        raise SettingsError(f"federation.stored_refusal_bytes must be at least {MIN_STORED_REFUSAL_BYTES}")
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError(f"log.level must be one of {', '.join(LOG_LEVELS)}")
    if settings.log_format not in LOG_FORMATS:
        raise SettingsError(f"log.format must be one of {', '.join(LOG_FORMATS)}")


def startup_warnings(settings: Settings) -> list[str]:
    """What a node can run with but its admin should hear about at start."""
    warnings = []
    if settings.host in ("0.0.0.0", "::", "") and not settings.base_url:
        warnings.append(
            f"server.host {settings.host!r} listens on every interface but server.base_url is empty:"
            f" ids and signatures will use {settings.base}, which no other server can reach; set"
            " server.base_url to the public URL"
        )
    return warnings


def config_file(path: Path | None) -> Path | None:
    """The file settings come from: ``path``, else ./fedassembly.toml if present, else None (defaults)."""
    if path is None and DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return path


def load_settings(path: Path | None) -> Settings:
    """Settings from ``path``; with None, from ./fedassembly.toml if present, else defaults."""
    path = config_file(path)
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: {error}") from error
    return settings_from_mapping(data)
