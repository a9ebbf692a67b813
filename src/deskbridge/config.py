"""Configuration: ``config.toml`` overridden by ``DESKBRIDGE_*`` environment variables.

Credentials are never written in the file: each is a reference ``env:NAME`` resolved from the
environment when a connection is built. Any error becomes one :class:`ConfigError` naming the
key, e.g. ``connections.helpdesk.type: unknown connector type 'kayak'; known: kayako, …``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from deskbridge.push.links import LinkConfig
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.durations import Duration, parse_duration
from deskbridge.sdk.errors import ConfigError


class WarehouseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path = Path("deskbridge.duckdb")
    memory_limit: str = Field("128MB", description="DuckDB memory limit of the writer; beyond it, DuckDB spills to disk.")
    lock_wait: Duration = Field("60s", description="How long a command waits while another process writes the warehouse.")

    @property
    def lock_wait_s(self) -> float:
        return parse_duration(self.lock_wait)


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="DESKBRIDGE_", env_nested_delimiter="__", extra="forbid", toml_file=None
    )
    warehouse: WarehouseConfig = Field(default_factory=WarehouseConfig)
    connections: dict[str, ConnectionConfig] = Field(default_factory=dict)
    links: dict[str, LinkConfig] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_CONFIG_FILE.get("path"))
        return (init_settings, env_settings, toml)


_CONFIG_FILE: dict[str, Path | None] = {}


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration, naming the offending key on any error."""
    from deskbridge.registry import plugins

    file = Path(path) if path else None
    if file is not None and not file.exists():
        raise ConfigError(f"{file}: config file not found")
    _CONFIG_FILE["path"] = file
    where = str(file) if file else "configuration"
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_first_error(where, exc)) from None
    except ValueError as exc:  # TOML syntax
        raise ConfigError(f"{where}: {exc}") from None
    finally:
        _CONFIG_FILE["path"] = None
    known = plugins()
    for name, conn in settings.connections.items():
        conn.name = name
        if conn.type not in known:
            raise ConfigError(
                f"{where}: connections.{name}.type: unknown connector type {conn.type!r}; "
                f"known: {', '.join(sorted(known))}"
            )
        _check_options(where, name, conn, known[conn.type])
    for name, link in settings.links.items():
        link.name = name
        _check_link(where, link, settings, known)
    return settings


def _check_link(where: str, link: LinkConfig, settings: Settings, known: dict[str, Any]) -> None:
    from deskbridge.push.links import check_link

    for side in ("a", "b"):
        if getattr(link, side) not in settings.connections:
            raise ConfigError(f"{where}: links.{link.name}.{side}: no connection named {getattr(link, side)!r}")
    vendors = {side: settings.connections[getattr(link, side)].type for side in ("a", "b")}
    classes = {side: known[vendor].connector_class() for side, vendor in vendors.items()}
    try:
        check_link(link, classes, vendors)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_options(where: str, name: str, conn: ConnectionConfig, plugin: Any) -> None:
    connector = plugin.connector_class()
    try:
        connector.Options.model_validate(conn.options)
    except ValidationError as exc:
        raise ConfigError(_first_error(where, exc, prefix=f"connections.{name}.options")) from None
    missing = [key for key in plugin.credentials if key not in conn.credentials]
    if missing:
        raise ConfigError(
            f"{where}: connections.{name}.credentials.{missing[0]}: missing credential "
            f"({conn.type} needs {', '.join(plugin.credentials)})"
        )


def _first_error(where: str, exc: ValidationError, prefix: str = "") -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in (prefix, *err["loc"]) if part != "")
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif "credentials" not in loc and isinstance(err.get("input"), str | int | float | bool):
        msg = f"{msg} (got {err['input']!r})"
    return f"{where}: {loc}: {msg}"
