"""Configuration: ``config.toml`` overridden by ``DESKBRIDGE_*`` environment variables.

Credentials are never written in the file: each is a reference ``env:NAME`` resolved from the
environment when a connection is built. Any error becomes one :class:`ConfigError` naming the
key, e.g. ``connections.helpdesk.type: unknown connector type 'kayak'; known: kayako, …``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from deskbridge.sdk import mappings
from deskbridge.sdk.connection import ENV_REF, ConnectionConfig
from deskbridge.sdk.contract import Connector, WriteOp
from deskbridge.sdk.durations import Duration, parse_duration
from deskbridge.sdk.errors import ConfigError, UnmappedValueError

Side = Literal["a", "b"]
VOCAB_FIELDS = {"status": "status", "priority": "priority"}


class CustomField(BaseModel):
    """One custom field mapping's right-hand side when it needs more than the field's name."""

    model_config = ConfigDict(extra="forbid")
    to: str  # side b's "<vendor>:<key>"
    values: dict[str, str] = Field(default_factory=dict)  # side a value -> side b value
    transform: Literal["text", "integer", "number", "date", "datetime", "boolean"] | None = None


class LinkConfig(BaseModel):
    """One ``[links.<name>]`` table: which connections push to which, what flows, who wins.

    ```toml
    [links.kayako_trackit]
    a = "support"                 # connection names
    b = "servicedesk"
    direction = "both"            # a_to_b, b_to_a or both
    entities = ["tickets", "notes", "time_entries"]
    fields = ["subject", "status", "priority"]
    conflict = { status = "a" }   # per field: a, b or newest (default_conflict)
    correlate = "subject"         # find an existing twin by this ticket field before creating one
    time_entries_as = "note"      # when the target has no time entries: note or skip
    author = { a = "staff:1", b = "technician:1" }  # who writes on each side
    defaults = { b = { department = "Support" } }     # fills empty fields of tickets created on a side
    filters = { status_category = ["new", "open", "pending"] }
    deletes = "propagate"         # keep (default): a deletion stays on its side; propagate: delete the twin
    people = { "staff:3" = "technician:7" }  # side a id -> side b id, before matching by e-mail and name
    # custom fields: side a's "<vendor>:<key>" = side b's, or a table with a value map / transform
    custom = { "kayako:1" = "trackit:85", "kayako:2" = { to = "trackit:116", values = { "Hosting Pro" = "Head Office" } } }
    source_number_to = "trackit:87"  # the source ticket's number, into this field of the target
    ```

    ``custom`` sits beside ``fields`` rather than inside it: ``fields`` stays the list of
    canonical fields every existing config has, and a custom field, named by its vendor's own
    key, merges, wins conflicts (``conflict = { "kayako:1" = "b" }``) and is reported
    like a canonical one. See :mod:`deskbridge.push.fieldmap`.

    A link is checked against both connectors before anything runs: every field must be one the
    target can write, and every status and priority the source can produce must have a value on
    the target side. The message says which and why.
    """

    model_config = ConfigDict(extra="forbid")
    name: str = ""
    a: str
    b: str
    direction: Literal["a_to_b", "b_to_a", "both"] = "both"
    entities: list[Literal["tickets", "notes", "time_entries"]] = [
        "tickets",
        "notes",
        "time_entries",
    ]
    fields: list[str] = Field(default_factory=lambda: ["subject", "status", "priority"])
    conflict: dict[str, Literal["a", "b", "newest"]] = Field(default_factory=dict)
    default_conflict: Literal["a", "b", "newest"] = "newest"
    correlate: str | None = None
    time_entries_as: Literal["note", "skip"] = "note"
    filters: dict[str, list[str]] = Field(default_factory=dict)
    mappings: dict[Side, str] = Field(default_factory=dict)
    author: dict[Side, str] = Field(default_factory=dict)  # people id that writes on each side
    # fields for tickets created there
    defaults: dict[Side, dict[str, str]] = Field(default_factory=dict)
    deletes: Literal["keep", "propagate"] = "keep"
    people: dict[str, str] = Field(default_factory=dict)  # side a person id -> side b person id
    custom: dict[str, str | CustomField] = Field(default_factory=dict)  # side a field -> side b
    source_number_to: str | None = None  # "<vendor>:<key>" of a target field for the source number

    def targets(self) -> list[Side]:
        """Sides written to: b for a_to_b, a for b_to_a, both for both."""
        return {"a_to_b": ["b"], "b_to_a": ["a"], "both": ["b", "a"]}[self.direction]  # type: ignore[return-value]

    def winner(self, field: str) -> str:
        return self.conflict.get(field, self.default_conflict)


def check_link(
    link: LinkConfig, connectors: dict[Side, type[Connector]], vendors: dict[Side, str]
) -> None:
    """Refuse a link whose writes cannot work: one line per problem, naming the key and the fix."""
    problems = link_problems(link, connectors, vendors)
    if problems:
        raise ConfigError("\n".join(problems))


def link_problems(
    link: LinkConfig, connectors: dict[Side, type[Connector]], vendors: dict[Side, str]
) -> list[str]:
    """What is wrong with ``link`` that needs no warehouse to see (the rest: push.preflight)."""
    where = f"links.{link.name}"
    return [line for check in STATIC_CHECKS for line in check(where, link, connectors, vendors)]


def _writes(
    where: str, link: LinkConfig, connectors: dict[Side, type[Connector]], vendors: dict[Side, str]
) -> list[str]:
    out = []
    for target in link.targets():
        cls = connectors[target]
        if "tickets" in link.entities and WriteOp.CREATE_TICKET not in cls.write_ops:
            out.append(f"{where}: {vendors[target]} cannot create tickets")
        out += [
            f"{where}.fields: {field!r} cannot be written to {vendors[target]} "
            f"(writable: {', '.join(sorted(cls.writable_fields)) or 'none'})"
            for field in link.fields
            if field not in cls.writable_fields
        ]
        if "notes" in link.entities and WriteOp.ADD_NOTE not in cls.write_ops:
            out.append(f"{where}.entities: {vendors[target]} cannot add notes")
    return out


def _vocab(
    where: str, link: LinkConfig, _: dict[Side, type[Connector]], vendors: dict[Side, str]
) -> list[str]:
    """Every status and priority the source can produce has a value on the target side."""
    out = []
    for target in link.targets():
        source: Side = "a" if target == "b" else "b"
        for field in (f for f in VOCAB_FIELDS if f in link.fields):
            src = mappings.load(link.mappings.get(source, vendors[source])).values(field)
            dst = mappings.load(link.mappings.get(target, vendors[target])).values(field)
            for value, canonical in src.forward.items():
                try:
                    dst.to_vendor(canonical)
                except UnmappedValueError:
                    out.append(
                        f"{where}: {vendors[source]} {field} {value!r} (canonical {canonical!r}) "
                        f"has no {vendors[target]} value; known: {listing(dst.forward.values())}"
                    )
                    break
    return out


def _authors(
    where: str, link: LinkConfig, _: dict[Side, type[Connector]], vendors: dict[Side, str]
) -> list[str]:
    return [
        _bad_person(f"{where}.author.{side}", person, vendors[side], "staff")
        for side, person in link.author.items()
        if not is_person(vendors[side], person, "staff")
    ]


def _people(
    where: str, link: LinkConfig, _: dict[Side, type[Connector]], vendors: dict[Side, str]
) -> list[str]:
    out = []
    for a_id, b_id in link.people.items():
        key = f"{where}.people.{a_id!r}"
        if not is_person(vendors["a"], a_id):
            out.append(_bad_person(f"{key} (side a)", a_id, vendors["a"]))
        if not is_person(vendors["b"], b_id):
            out.append(_bad_person(f"{key} = {b_id!r} (side b)", b_id, vendors["b"]))
    return out


def _defaults(
    where: str, link: LinkConfig, _: dict[Side, type[Connector]], vendors: dict[Side, str]
) -> list[str]:
    """Default statuses and priorities are the target's values; default people its ids."""
    out = []
    for side, values in link.defaults.items():
        vendor = vendors[side]
        for field, value in values.items():
            key = f"{where}.defaults.{side}.{field}"
            if field in VOCAB_FIELDS:
                vocab = mappings.load(link.mappings.get(side, vendor)).values(field)
                if value not in vocab.forward and value not in set(vocab.forward.values()):
                    out.append(
                        f"{key}: {value!r} is not a {vendor} {field}; known: {listing(vocab.forward)}"
                    )
            elif field in PERSON_KINDS and not is_person(vendor, value, PERSON_KINDS[field]):
                out.append(_bad_person(key, value, vendor, PERSON_KINDS[field]))
    return out


def _filters(
    where: str, link: LinkConfig, _: dict[Side, type[Connector]], __: dict[Side, str]
) -> list[str]:
    """Filters on canonical statuses and priorities name canonical values (else nothing passes)."""
    canonical = {
        "status_category": mappings.STATUS_CATEGORIES,
        "priority_level": mappings.PRIORITY_LEVELS,
    }
    return [
        f"{where}.filters.{key}: {value!r} is not a canonical {key}; known: {', '.join(canonical[key])}"
        for key, values in link.filters.items()
        if key in canonical
        for value in values
        if value not in canonical[key]
    ]


STATIC_CHECKS = (_writes, _vocab, _authors, _people, _defaults, _filters)
PERSON_KINDS = {"assignee_id": "staff", "requester_id": "requester"}
_FORM_PARTS = {"<n>": "[0-9]+", "<name>": r"\S.*", "<e-mail>": r"[^@\s]+@[^@\s]+"}


def id_forms(vendor: str, kind: str | None = None) -> list[str]:
    """The people id forms of ``vendor`` (``staff:<n>``, …), from its mapping file's ``[people]``."""
    table = mappings.load(vendor).data.get("people", {})
    return [
        form
        for k, forms in table.items()
        if k in ("staff", "requester") and kind in (None, k)
        for form in forms
    ]


def kind_of(vendor: str, person: str) -> str | None:
    """staff or requester, by the form of ``person``'s id; None when no form fits."""
    return next((k for k in ("staff", "requester") if is_person(vendor, person, k)), None)


def is_person(vendor: str, person: str, kind: str | None = None) -> bool:
    """Whether ``person`` has one of ``vendor``'s id forms (any, when the file declares none)."""
    forms = id_forms(vendor, kind)
    return not forms or any(re.fullmatch(_pattern(form), person) for form in forms)


def _pattern(form: str) -> str:
    return "".join(_FORM_PARTS.get(part, re.escape(part)) for part in re.split(r"(<[^>]+>)", form))


def _bad_person(key: str, person: str, vendor: str, kind: str | None = None) -> str:
    what = f"{vendor} {kind or 'people'} id"
    return f"{key}: {person!r} is not a {what}; expected {' or '.join(id_forms(vendor, kind))}"


def listing(values: Iterable[str], limit: int = 12) -> str:
    """``values`` sorted for a message, cut after ``limit`` with how many there are."""
    names = sorted({str(v) for v in values})
    if len(names) <= limit:
        return ", ".join(names) or "none"
    return f"{', '.join(names[:limit])}, … ({len(names)} in all)"


class WarehouseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path = Path("deskbridge.duckdb")
    memory_limit: str = Field(
        default="128MB",
        description="DuckDB memory limit of the writer; beyond it, DuckDB spills to disk.",
    )
    lock_wait: Duration = Field(
        default="60s",
        description="How long a command waits while another process writes the warehouse.",
    )

    backend: Literal["duckdb", "ducklake"] = Field(
        default="duckdb",
        description="duckdb: one file at path, one writer. ducklake: Parquet files at data_path "
        "and a catalog, written by many serve workers at once.",
    )
    catalog: str | None = Field(
        default=None,
        description="ducklake: 'env:NAME' naming a PostgreSQL connection string (many machines), "
        "or a local DuckDB catalog file such as lake.ducklake (one machine).",
    )
    data_path: Path | None = Field(
        default=None, description="ducklake: the directory that holds the tables' Parquet files."
    )

    @property
    def lock_wait_s(self) -> float:
        return parse_duration(self.lock_wait)

    @model_validator(mode="after")
    def _lake_complete(self) -> WarehouseConfig:
        if self.backend == "ducklake" and not (self.catalog and self.data_path):
            raise ValueError(
                "backend 'ducklake' needs catalog (env:NAME of a PostgreSQL connection string, "
                "or a .ducklake file) and data_path (a directory)"
            )
        if self.catalog and re.search(r"(^|\s)(password|host|dbname)=|://", self.catalog):
            raise ValueError(
                "catalog: give the PostgreSQL connection string as an environment reference "
                "like 'env:DESKBRIDGE_LAKE', not in the file"
            )
        return self

    def catalog_value(self) -> str:
        """The catalog: a PostgreSQL connection string from the environment, or a file path."""
        ref = ENV_REF.match(self.catalog or "")
        if ref is None:
            return str(self.catalog)
        value = os.environ.get(ref[1])
        if not value:
            raise ConfigError(f"warehouse.catalog: environment variable {ref[1]} is not set")
        return value


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
