"""Connector discovery through the ``deskbridge.connectors`` entry-point group."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, entry_points

from deskbridge.sdk.contract import Plugin
from deskbridge.sdk.errors import ConfigError

GROUP = "deskbridge.connectors"


class Plugins(Mapping[str, Plugin]):
    """Every installed connector plugin by name, each loaded when first asked for.

    The connectors deskbridge ships are found in its own metadata; only a name they lack, or a
    listing of all, reads the metadata of every installed package (~10 ms per hundred packages,
    paid by every run otherwise). A bundled name is therefore never shadowed by another package.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Plugin] = {}

    def __getitem__(self, name: str) -> Plugin:
        if name not in self._loaded:
            point = _bundled().get(name) or _installed().get(name)
            if point is None:
                raise KeyError(name)
            self._loaded[name] = _load(point)
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in _bundled() or name in _installed()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(_bundled().keys() | _installed().keys()))

    def __len__(self) -> int:
        return len(_bundled().keys() | _installed().keys())


@cache
def plugins() -> Plugins:
    """Every installed connector plugin by name; importing them loads nothing heavy."""
    return Plugins()


@cache
def _bundled() -> dict[str, EntryPoint]:
    try:
        points = distribution("deskbridge").entry_points.select(group=GROUP)
    except PackageNotFoundError:  # run from a source tree without being installed
        return {}
    return {point.name: point for point in points}


@cache
def _installed() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=GROUP)}


def _load(point: EntryPoint) -> Plugin:
    plugin = point.load()
    if not isinstance(plugin, Plugin) or plugin.name != point.name:
        raise TypeError(
            f"entry point {point.name} = {point.value} is not a deskbridge Plugin named {point.name!r}"
        )
    return plugin


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
