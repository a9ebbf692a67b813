"""``deskbridge config show``: the effective configuration, secrets as their ``env:`` references."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, console
from deskbridge.config import Settings
from deskbridge.sdk.connection import ENV_REF
from deskbridge.sdk.redact import scrub

config_app = typer.Typer(help="The configuration deskbridge runs with.", no_args_is_help=True)


@config_app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """The effective config: the file with DESKBRIDGE_* environment overrides applied.

    Credentials show as their env: reference, never their value.
    """
    effective = effective_config(common.settings(config))
    if as_json:
        print(json.dumps(effective, indent=2))
        return
    table = Table(title="Effective configuration")
    table.add_column("key", overflow="fold")
    table.add_column("value", overflow="fold")
    for key, value in _flatten(effective):
        table.add_row(key, value)
    console.print(table)


def effective_config(settings: Settings) -> dict[str, Any]:
    """``settings`` as plain data: names are keys, credentials stay ``env:`` references."""
    data = settings.model_dump(mode="json")
    for group in ("connections", "links"):
        for entry in data[group].values():
            entry.pop("name", None)
    for conn in data["connections"].values():
        conn["credentials"] = {
            key: ref if ENV_REF.match(ref) else "(hidden)"
            for key, ref in conn["credentials"].items()
        }
    return json.loads(scrub(json.dumps(data)))


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict) and value:
        return [pair for key, item in value.items() for pair in _flatten(item, f"{prefix}{key}.")]
    return [(prefix.rstrip("."), json.dumps(value))]
