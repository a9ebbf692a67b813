"""Configuration: ``config.toml`` overridden by ``DESKBRIDGE_*`` environment variables.

Credentials are never written in the file: each is a reference ``env:NAME`` resolved from the
environment when a connection is built. Any error becomes one :class:`ConfigError` naming the
key, e.g. ``connections.helpdesk.type: unknown connector type 'kayak'; known: kayako, …``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .deletions import Guard
from .durations import Duration, parse_duration
from .errors import ConfigError
from .http import HttpOptions
from .links import LinkConfig

ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")


class Schedule(BaseModel):
    """When ``deskbridge serve`` runs a connection: an interval or a cron line, with jitter."""

    model_config = ConfigDict(extra="forbid")
    every: str | None = None
    cron: str | None = None
    jitter: str = "0s"

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' or 'cron'")
        for value in (self.every, self.jitter):
            if value is not None:
                parse_duration(value)
        return self


class ConnectionConfig(BaseModel):
    """One ``[connections.<name>]`` table."""

    model_config = ConfigDict(extra="forbid")
    name: str = ""
    type: str
    base_url: str
    credentials: dict[str, str] = Field(default_factory=dict)
    schedule: Schedule | None = None
    concurrency: int = Field(8, ge=1, le=64)
    rate_limit_per_s: float = Field(0.0, ge=0)
    timeout_s: float = Field(30.0, gt=0)
    retries: int = Field(5, ge=0, le=20)
    retry_backoff_s: float = Field(0.5, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)
    max_delete_share: float = Field(
        0.10, ge=0, le=1, description="Share of live rows a run may delete on a listing alone."
    )
    max_delete_rows: int = Field(20, ge=0, description="Deletions on a listing alone always allowed.")

    @property
    def delete_guard(self) -> Guard:
        return Guard(self.max_delete_share, self.max_delete_rows)

    @field_validator("credentials")
    @classmethod
    def _env_refs(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            if not ENV_REF.match(ref):
                raise ValueError(f"{key}: give an environment reference like 'env:MY_SECRET', not a value")
        return value

    @property
    def http(self) -> HttpOptions:
        return HttpOptions(
            concurrency=self.concurrency,
            rate_limit_per_s=self.rate_limit_per_s,
            timeout_s=self.timeout_s,
            retries=self.retries,
            backoff_initial_s=self.retry_backoff_s,
        )

    def secret(self, key: str) -> str:
        """Resolve one credential from the environment."""
        ref = self.credentials.get(key)
        if ref is None:
            raise ConfigError(f"connections.{self.name}.credentials.{key}: missing credential")
        env = ENV_REF.match(ref)[1]  # type: ignore[index]
        value = os.environ.get(env)
        if not value:
            raise ConfigError(
                f"connections.{self.name}.credentials.{key}: environment variable {env} is not set"
            )
        return value


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
    from .registry import plugins

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
    from .links import check_link

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
