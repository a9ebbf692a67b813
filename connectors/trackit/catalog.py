"""Track-It! field facts: the field catalog (``fields.toml``), the field map (``mappings/trackit.toml``)
and the installation's current display names, learned from the server's responses."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from deskbridge.sdk import CatalogField, FieldCatalog, mappings


@cache
def _catalog_data() -> Mapping[str, Any]:
    text = resources.files(__package__).joinpath("fields.toml").read_text("utf-8")
    return MappingProxyType(tomllib.loads(text))


@cache
def field_catalog() -> FieldCatalog:
    """Ticket fields by sequence (default display name, updatable) and default vocabularies."""
    data = _catalog_data()
    fields = {
        int(seq): CatalogField(f["name"], f["updatable"]) for seq, f in data["ticket"].items()
    }
    vocab = {name: tuple(values) for name, values in data["vocabularies"].items()}
    return FieldCatalog(MappingProxyType(fields), MappingProxyType(vocab))


def field_seq(name: str) -> int:
    """The sequence of a ticket field given by its default display name (or its sequence number)."""
    fields = field_catalog().fields
    text = name.strip()
    if text.isdigit() and int(text) in fields:
        return int(text)
    found = [seq for seq, f in fields.items() if f.name.casefold() == text.casefold()]
    if not found:
        raise ValueError(
            f"no Track-It ticket field is named {name!r} (e.g. 'Custom Text 6' or its sequence '90')"
        )
    return found[0]


@cache
def custom_fields() -> Mapping[int, str]:
    """The custom ticket fields: sequence -> value type, in sequence order."""
    custom = _catalog_data()["custom"]
    return MappingProxyType({int(seq): custom[seq] for seq in sorted(custom, key=int)})


def note_types() -> tuple[str, ...]:
    return tuple(_catalog_data()["notes"]["note_types"])


@dataclass(frozen=True)
class FieldMap:
    """Canonical field -> ticket sequence: ``write`` fields are read and written, ``read`` only read."""

    write: Mapping[str, int]
    read: Mapping[str, int]

    def seq(self, name: str) -> int:
        return self.write.get(name) or self.read[name]


@cache
def field_map() -> FieldMap:
    data = mappings.load("trackit").data
    return FieldMap(
        MappingProxyType(dict(data["fields"])), MappingProxyType(dict(data["read_fields"]))
    )


class DisplayNames:
    """The current display name of each ticket field, as the server last showed it.

    Writes address fields by display name, and an installation may rename them at any time,
    so a writer asks for names seen within ``max_age_s`` and refreshes the rest first.
    """

    def __init__(self) -> None:
        self._names: dict[int, tuple[str, float]] = {}

    def learn(self, names: Mapping[int, str]) -> None:
        now = time.monotonic()
        self._names.update({seq: (name.strip(), now) for seq, name in names.items()})

    def stale(self, seqs: list[int], max_age_s: float) -> bool:
        oldest = time.monotonic() - max_age_s
        return any(seq not in self._names or self._names[seq][1] < oldest for seq in seqs)

    def forget(self) -> None:
        self._names.clear()

    def name(self, seq: int) -> str:
        return self._names[seq][0]

    def label(self, seq: int) -> str:
        """The name last seen, else the default name of the field table."""
        found = self._names.get(seq)
        return found[0] if found else field_catalog().fields[seq].name
