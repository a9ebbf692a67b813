"""What a connector knows about its vendor's fields, for checking mapping files (``deskbridge mappings check``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CatalogField:
    """One vendor field: its default display name and whether the API can write it."""

    name: str
    updatable: bool


@dataclass(frozen=True)
class FieldCatalog:
    """What a connector knows about its vendor's fields, for checking mapping files."""

    fields: Mapping[int, CatalogField]
    vocabularies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
