"""Vendor vocabularies and field maps, loaded once from the ``mappings/*.toml`` package data."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from deskbridge.sdk.errors import ConfigError, UnmappedValueError

STATUS_CATEGORIES = ("new", "open", "pending", "resolved", "closed")
PRIORITY_LEVELS = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class ValueMap:
    """One vocabulary: vendor value -> canonical value, and its reverse for writes."""

    name: str
    forward: Mapping[str, str]
    writes: Mapping[str, str] = field(default_factory=dict)  # canonical -> vendor value, for writes

    def to_canonical(self, value: str | None, default: str | None = None) -> str | None:
        if value is None:
            return None
        return self.forward.get(value, default)

    def require(self, value: str) -> str:
        if value not in self.forward:
            raise UnmappedValueError(self.name, value, sorted(self.forward))
        return self.forward[value]

    def to_vendor(self, canonical: str) -> str:
        """The ``[<name>_write]`` value for ``canonical``, else the first vendor value mapped to it."""
        if canonical in self.writes:
            return self.writes[canonical]
        for vendor_value, mapped in self.forward.items():
            if mapped == canonical:
                return vendor_value
        known = sorted(set(self.forward.values()) | set(self.writes))
        raise UnmappedValueError(f"canonical {self.name}", canonical, known)


@dataclass(frozen=True)
class VendorMapping:
    vendor: str
    data: Mapping[str, Any]

    def values(self, name: str) -> ValueMap:
        table = self.data.get(name)
        if not isinstance(table, Mapping):
            raise ConfigError(f"mappings/{self.vendor}.toml: no [{name}] table")
        writes = self.data.get(f"{name}_write", {})
        return ValueMap(
            f"{self.vendor} {name}", MappingProxyType(dict(table)), MappingProxyType(dict(writes))
        )


@cache
def load(vendor: str) -> VendorMapping:
    """The mapping file of ``vendor``, parsed once per process."""
    try:
        text = resources.files("deskbridge_mappings").joinpath(f"{vendor}.toml").read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"mappings/{vendor}.toml: mapping file not found") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"mappings/{vendor}.toml: {exc}") from None
    _check_vocab(vendor, data, "status", STATUS_CATEGORIES)
    _check_vocab(vendor, data, "priority", PRIORITY_LEVELS)
    for name in ("status", "priority"):
        for canonical, label in data.get(f"{name}_write", {}).items():
            if label not in data.get(name, {}):
                raise ConfigError(
                    f"mappings/{vendor}.toml: [{name}_write] {canonical!r} = {label!r} is not a {name} in [{name}]"
                )
    return VendorMapping(vendor, MappingProxyType(data))


def _check_vocab(vendor: str, data: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    for key, value in data.get(name, {}).items():
        if value not in allowed:
            raise ConfigError(
                f"mappings/{vendor}.toml: [{name}] {key!r} = {value!r}; canonical values: {', '.join(allowed)}"
            )
