"""Loading the configuration: validation errors become one line naming the key.

Connections are checked against their connector plugin (type, options, credentials) and links
against both connectors (:mod:`deskbridge.config.checks`) before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from deskbridge.config.checks import link_problems
from deskbridge.config.links import LinkConfig
from deskbridge.config.settings import CONFIG_FILE, Settings
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.errors import ConfigError


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration, naming the offending key on any error."""
    from deskbridge.registry import plugins

    file = Path(path) if path else None
    if file is not None and not file.exists():
        raise ConfigError(f"{file}: config file not found")
    CONFIG_FILE["path"] = file
    where = str(file) if file else "configuration"
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_first_error(where, exc)) from None
    except ValueError as exc:  # TOML syntax
        raise ConfigError(f"{where}: {exc}") from None
    finally:
        CONFIG_FILE["path"] = None
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


def _check_link(where: str, link: LinkConfig, settings: Settings, known: Mapping[str, Any]) -> None:

    for side in ("a", "b"):
        if getattr(link, side) not in settings.connections:
            raise ConfigError(
                f"{where}: links.{link.name}.{side}: no connection named {getattr(link, side)!r}"
            )
    vendors = {side: settings.connections[getattr(link, side)].type for side in ("a", "b")}
    classes = {side: known[vendor].connector_class() for side, vendor in vendors.items()}
    problems = link_problems(link, classes, vendors)  # type: ignore[arg-type]
    if problems:
        raise ConfigError("\n".join(f"{where}: {line}" for line in problems))


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
