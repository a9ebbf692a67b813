"""Connector discovery through the ``deskbridge.connectors`` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from deskbridge.sdk.contract import Plugin
from deskbridge.sdk.errors import ConfigError

GROUP = "deskbridge.connectors"


@cache
def plugins() -> dict[str, Plugin]:
    """Every installed connector plugin by name; importing them loads nothing heavy."""
    found: dict[str, Plugin] = {}
    for ep in entry_points(group=GROUP):
        plugin = ep.load()
        if not isinstance(plugin, Plugin):
            raise TypeError(f"entry point {ep.name} = {ep.value} is not a deskbridge Plugin")
        found[plugin.name] = plugin
    return found


def get(name: str) -> Plugin:
    known = plugins()
    if name not in known:
        raise ConfigError(f"unknown connector type {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def complete() -> list[str]:
    """Vendors whose connector and emulator are both installed and importable."""
    names = []
    for name, plugin in sorted(plugins().items()):
        try:
            plugin.connector_class(), plugin.emulator_class()
        except (ImportError, AttributeError):
            continue
        names.append(name)
    return names
