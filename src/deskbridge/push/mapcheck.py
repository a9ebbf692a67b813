"""``deskbridge mappings check``: validate every mapping file against its connector's field catalog.

A mapping file (``mappings/<vendor>.toml``) may hold

* ``[fields]``: canonical ticket field -> vendor field id, read **and written**;
* ``[read_fields]``: name -> vendor field id, read only (names may be vendor helpers);
* value maps such as ``[status]`` and ``[priority]``: vendor value -> canonical value.

A connector opts in by defining a classmethod ``field_catalog()`` on its :class:`Connector`
subclass that returns a :class:`FieldCatalog`: the vendor's field ids with their default
display names and whether they can be written, and the vendor values of a default
installation per value map. Connectors without one get their value maps checked only
against the canonical vocabularies (which :func:`deskbridge.sdk.mappings.load` enforces).

Problems found:

* ``error``: unknown field id; a read-only field mapped for writing; a ``[fields]`` key that
  is not a canonical ticket field; a vendor value of the catalog with no canonical value.
* ``warning``: a mapped vendor value the catalog does not know (fine when the installation
  added it); a canonical value with no vendor value, so writing it would fail.

Given a configuration and its warehouse, :func:`check_links` also checks every link's custom
fields (``custom``, ``source_number_to``) against both sides' ``fields`` catalogs: the link
preflight's check (:mod:`deskbridge.push.fieldcheck`), one line per problem naming the key.

``[people]`` (id forms per kind, the kinds a pull lists in full) and ``[writes]`` (whether an
author is required, what a new ticket needs) feed the links' preflight; their shape is checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from deskbridge import registry
from deskbridge.config import Settings
from deskbridge.sdk import mappings
from deskbridge.sdk.canonical import canonical_fields
from deskbridge.sdk.catalog import FieldCatalog
from deskbridge.sdk.errors import ConfigError
from deskbridge.warehouse.store import Warehouse

VOCABULARIES = {"status": mappings.STATUS_CATEGORIES, "priority": mappings.PRIORITY_LEVELS}


@dataclass(frozen=True)
class Problem:
    vendor: str
    where: str  # e.g. "[fields] subject"
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"mappings/{self.vendor}.toml {self.where}: {self.severity}: {self.message}"


def check_all(vendors: Iterable[str] | None = None) -> list[Problem]:
    """Problems of every shipped mapping file (or of ``vendors``' files); empty when clean."""
    names = sorted(vendors) if vendors is not None else mapped_vendors()
    return [problem for vendor in names for problem in check_vendor(vendor)]


def mapped_vendors() -> list[str]:
    """Vendors with a ``mappings/<vendor>.toml`` file."""
    files = resources.files("deskbridge_mappings").iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def check_vendor(vendor: str) -> list[Problem]:
    """Load ``mappings/<vendor>.toml`` and the connector's catalog, and check one against the other."""
    try:
        data = mappings.load(vendor).data
        connector = registry.get(vendor).connector_class()
    except ConfigError as exc:
        return [Problem(vendor, "", str(exc))]
    except ImportError as exc:
        note = Problem(
            vendor, "", f"connector not importable ({exc}); values checked only", "warning"
        )
        return [note, *check_mapping(vendor, data, None)]
    catalog_of = getattr(connector, "field_catalog", None)
    return check_mapping(vendor, data, catalog_of() if catalog_of else None)


def check_mapping(
    vendor: str, data: Mapping[str, Any], catalog: FieldCatalog | None
) -> list[Problem]:
    """Pure check of one parsed mapping file against a catalog (``None``: values only)."""
    problems: list[Problem] = []
    if catalog is not None:
        problems += _fields(vendor, data.get("fields", {}), catalog, writable=True)
        problems += _fields(vendor, data.get("read_fields", {}), catalog, writable=False)
    problems += _people(vendor, data.get("people", {})) + _writes(vendor, data.get("writes", {}))
    for name, canonical in VOCABULARIES.items():
        if name in data:
            known = catalog.vocabularies.get(name) if catalog else None
            problems += _values(
                vendor, name, data[name], known, canonical, data.get(f"{name}_write", {})
            )
    return problems


def _fields(
    vendor: str, table: Mapping[str, Any], catalog: FieldCatalog, *, writable: bool
) -> list[Problem]:
    section = "[fields]" if writable else "[read_fields]"
    ticket_fields = canonical_fields("tickets")
    out = []
    for key, seq in table.items():
        where = f"{section} {key}"
        info = catalog.fields.get(seq) if isinstance(seq, int) else None
        if writable and key not in ticket_fields:
            out.append(Problem(vendor, where, f"{key!r} is not a canonical ticket field"))
        if info is None:
            out.append(Problem(vendor, where, f"unknown field id {seq!r}"))
        elif writable and not info.updatable:
            out.append(
                Problem(
                    vendor,
                    where,
                    f"field {seq} ({info.name}) is read-only; move it to [read_fields]",
                )
            )
    return out


def _values(
    vendor: str,
    name: str,
    table: Mapping[str, str],
    known: tuple[str, ...] | None,
    canonical: tuple[str, ...],
    writes: Mapping[str, str] | None = None,
) -> list[Problem]:
    out = []
    if known is not None:
        out += [
            Problem(vendor, f"[{name}]", f"vendor value {value!r} has no canonical {name}")
            for value in known
            if value not in table
        ]
        out += [
            Problem(
                vendor, f"[{name}] {value!r}", "not a value of a default installation", "warning"
            )
            for value in table
            if value not in known
        ]
    mapped = set(table.values()) | set(writes or {})
    out += [
        Problem(
            vendor,
            f"[{name}]",
            f"canonical {name} {value!r} has no vendor value; writing it fails",
            "warning",
        )
        for value in canonical
        if value not in mapped
    ]
    return out


def _people(vendor: str, table: Mapping[str, Any]) -> list[Problem]:
    out = [
        Problem(vendor, f"[people] {kind}", "expected a list of id forms such as 'staff:<n>'")
        for kind in ("staff", "requester")
        if not (
            isinstance(table.get(kind, []), list) and all(":" in f for f in table.get(kind, []))
        )
    ]
    out += [
        Problem(vendor, "[people] complete", f"{kind!r} is not staff or requester")
        for kind in table.get("complete", [])
        if kind not in ("staff", "requester")
    ]
    return out


def _writes(vendor: str, table: Mapping[str, Any]) -> list[Problem]:
    out = []
    if table.get("author", "optional") not in ("required", "optional"):
        out.append(Problem(vendor, "[writes] author", "expected 'required' or 'optional'"))
    ticket_fields = canonical_fields("tickets")
    out += [
        Problem(vendor, "[writes] create_requires", f"{name!r} is not a canonical ticket field")
        for name in table.get("create_requires", [])
        if name not in ticket_fields
    ]
    return out


def check_links(wh: Warehouse, settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, limits) of every configured link's custom fields, against what ``wh`` holds."""
    from deskbridge.push.fieldcheck import custom_fields
    from deskbridge.push.preflight import Preflight, context

    problems: list[str] = []
    limits: list[str] = []
    for link in settings.links.values():
        report = Preflight(link.name)
        custom_fields(context(wh, settings, link), report)
        problems += report.problems
        limits += report.limits
    return problems, limits
