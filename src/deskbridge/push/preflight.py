"""Preflight of a link: what would make its writes fail, found before the first one is sent.

Config load already refused what needs no warehouse (:func:`deskbridge.config.link_problems`:
id forms, value maps against the mapping files). This adds what a target's writer needs from the
link (an author, the fields of a new ticket; ``[writes]`` of its mapping file) and what the
warehouse knows of each connection from its pulls: its people, departments and statuses.

Each check is a small function of a :class:`Context`; it adds problems (the link stops) or
limits (a check that could not run, and how to enable it) to a :class:`Preflight`. A new check
is one more function in :data:`CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deskbridge import registry
from deskbridge.config import (
    PERSON_KINDS,
    LinkConfig,
    Settings,
    Side,
    id_forms,
    kind_of,
    link_problems,
    listing,
)
from deskbridge.push.crosswalk import field_catalog, people_rows, ticket_labels
from deskbridge.push.fieldcheck import custom_fields
from deskbridge.sdk import mappings
from deskbridge.sdk.errors import ConfigError, UnmappedValueError
from deskbridge.sdk.mappings import ValueMap
from deskbridge.warehouse.status import synced_connections
from deskbridge.warehouse.store import Warehouse

CHILDREN = ("notes", "time_entries")


@dataclass
class Preflight:
    """Problems (one line each, naming the config key) and checks the warehouse could not make."""

    link: str
    problems: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)


class PreflightError(ConfigError):
    """A link refused before any write; ``report`` holds every problem."""

    def __init__(self, report: Preflight) -> None:
        super().__init__("\n".join(report.problems))
        self.report = report


@dataclass
class Known:
    """What the warehouse holds of one connection: whether it was pulled, people ids, labels."""

    connection: str
    pulled: bool
    people: dict[str, set[str]]  # kind -> live person ids
    labels: dict[str, set[str]]  # department, status -> values seen on its tickets
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # its custom field catalog


@dataclass
class Context:
    link: LinkConfig
    vendor: dict[Side, str]
    known: dict[Side, Known]
    author_option: str | None  # the command-line option that sets the target's author, if any
    configured: bool = True  # False: a link the command made (migrate without a [links] table)

    def key(self, *parts: str) -> str:
        return ".".join((f"links.{self.link.name}", *parts))

    def author_key(self, side: Side) -> str:
        """The author's config key, and the option that sets it on the target side."""
        key = self.key("author", side)
        return f"{key} ({self.author_option})" if self.author_option and side == "b" else key


Check = Callable[[Context, Preflight], None]


def preflight(
    wh: Warehouse, settings: Settings, link: LinkConfig, author_option: str | None = None
) -> Preflight:
    """Run every check of ``link`` against what ``wh`` holds; nothing is written anywhere."""
    ctx = context(wh, settings, link, author_option)
    known = ctx.known
    report = Preflight(link.name)
    for check in CHECKS:
        check(ctx, report)
    for side in link.targets():
        if not known[side].pulled:
            conn = known[side].connection
            report.limits.append(
                f"{ctx.key()}: {conn} has not been pulled yet, so people, departments and "
                f"statuses were checked only by form; run `deskbridge sync {conn}` to check them"
            )
    return report


def context(
    wh: Warehouse, settings: Settings, link: LinkConfig, author_option: str | None = None
) -> Context:
    """What the checks of ``link`` read: both sides' vendors and what the warehouse knows of them."""
    pulled = set(synced_connections(wh.con))
    known = {side: _known(wh, getattr(link, side), pulled) for side in ("a", "b")}
    vendor = {side: settings.connections[getattr(link, side)].type for side in ("a", "b")}
    return Context(link, vendor, known, author_option, link.name in settings.links)  # type: ignore[arg-type]


def _known(wh: Warehouse, conn: str, pulled: set[str]) -> Known:
    people: dict[str, set[str]] = {}
    for source_id, kind, *_rest, deleted in people_rows(wh.con, conn):
        if not deleted:
            people.setdefault(kind, set()).add(source_id)
    labels = ticket_labels(wh.con, conn)
    return Known(conn, conn in pulled, people, labels, field_catalog(wh.con, conn))


def writes(vendor: str) -> dict[str, object]:
    """The ``[writes]`` table of ``vendor``'s mapping file: what writing there needs."""
    return dict(mappings.load(vendor).data.get("writes", {}))


def forms(ctx: Context, report: Preflight) -> None:
    """The checks of config load, for what the command line set (``migrate``'s link, ``--author``)."""
    classes = {side: registry.get(vendor).connector_class() for side, vendor in ctx.vendor.items()}
    for line in link_problems(ctx.link, classes, ctx.vendor):
        for side in ("a", "b"):
            line = line.replace(f"{ctx.key('author', side)}:", f"{ctx.author_key(side)}:")
        report.problems.append(line)


# -- what the target's writer needs ---------------------------------------------------------
def author_required(ctx: Context, report: Preflight) -> None:
    for side in ctx.link.targets():
        vendor = ctx.vendor[side]
        moves = [e for e in CHILDREN if e in ctx.link.entities]
        if not moves or ctx.link.author.get(side) or writes(vendor).get("author") != "required":
            continue
        fix = f"give {ctx.author_option} <id> or set {ctx.key('author', side)}"
        report.problems.append(
            f"{ctx.author_key(side)}: {vendor} needs an author to write {' and '.join(moves)}; "
            f"{fix if ctx.author_option else 'set it'} ({' or '.join(id_forms(vendor, 'staff'))})"
        )


def create_requires(ctx: Context, report: Preflight) -> None:
    if "tickets" not in ctx.link.entities:
        return
    for side in ctx.link.targets():
        vendor, given = ctx.vendor[side], ctx.link.defaults.get(side, {})
        for name in writes(vendor).get("create_requires", []):  # type: ignore[attr-defined]
            if name in ctx.link.fields or given.get(name) or given.get(f"{name}_id"):
                continue
            seen = ctx.known[side].labels.get(name)
            hint = f"; known: {listing(seen)}" if seen else ""
            where = (
                "the link's defaults"
                if ctx.configured
                else f"the defaults of a [links.<name>] table with a = {ctx.link.a!r}, b = {ctx.link.b!r}"
            )
            report.problems.append(
                f"{ctx.key('defaults', side, name)}: {vendor} needs a {name} for new tickets; "
                f"set it in {where}{hint}"
            )


# -- against what the warehouse knows -------------------------------------------------------
def authors_known(ctx: Context, report: Preflight) -> None:
    for side, person in ctx.link.author.items():
        _person(ctx, report, side, person, "staff", ctx.author_key(side))


def people_known(ctx: Context, report: Preflight) -> None:
    for a_id, b_id in ctx.link.people.items():
        key = ctx.key("people", repr(a_id))
        _person(ctx, report, "a", a_id, None, f"{key} (side a)")
        _person(ctx, report, "b", b_id, None, f"{key} = {b_id!r} (side b)")


def defaults_known(ctx: Context, report: Preflight) -> None:
    for side, values in ctx.link.defaults.items():
        for name, value in values.items():
            key = ctx.key("defaults", side, name)
            if name in PERSON_KINDS:
                _person(ctx, report, side, value, PERSON_KINDS[name], key)
            elif name == "department":
                _label(ctx, report, side, name, value, key)


def statuses_known(ctx: Context, report: Preflight) -> None:
    """Statuses the link writes exist on the target: seen on its tickets or in its vendor's file."""
    if "status" not in ctx.link.fields:
        return
    for side in ctx.link.targets():
        source: Side = "a" if side == "b" else "b"
        vendor, seen = ctx.vendor[side], ctx.known[side].labels["status"]
        dst = mappings.load(ctx.link.mappings.get(side, vendor)).values("status")
        src = mappings.load(ctx.link.mappings.get(source, ctx.vendor[source])).values("status")
        known = seen | set(mappings.load(vendor).values("status").forward)
        for value, canonical in unknown_statuses(src, dst, known if seen else None):
            report.problems.append(
                f"{ctx.key('mappings', side)}: status {value!r} (for {canonical!r}) is not a "
                f"{vendor} status of {ctx.known[side].connection}; known: {listing(known)}"
            )


def unknown_statuses(src: ValueMap, dst: ValueMap, known: set[str] | None) -> list[tuple[str, str]]:
    """(target value, canonical) the map ``dst`` writes for what ``src`` reads, not in ``known``."""
    if known is None:  # nothing pulled to compare with
        return []
    out = []
    for canonical in set(src.forward.values()):
        try:
            value = dst.to_vendor(canonical)
        except UnmappedValueError:  # no value at all: the config checks (forms) name it
            continue
        if value not in known:
            out.append((value, canonical))
    return sorted(out)


def _person(
    ctx: Context, report: Preflight, side: Side, person: str, kind: str | None, key: str
) -> None:
    """A person id the warehouse should know; where the vendor's pull lists only the people its
    tickets name (``complete`` of ``[people]``), an unknown one is a limit, not a problem."""
    known, vendor = ctx.known[side], ctx.vendor[side]
    kind = kind or kind_of(vendor, person)
    ids = known.people.get(kind or "", set())
    if not known.pulled or person in ids:
        return
    if ids and kind in mappings.load(vendor).data.get("people", {}).get("complete", []):
        report.problems.append(
            f"{key}: {person!r} is not a {vendor} {kind} of {known.connection}; known: {listing(ids)}"
        )
    else:
        report.limits.append(
            f"{key}: {person!r} is not among the {len(ids)} {kind or 'people'} that "
            f"{known.connection}'s pulled tickets name ({vendor} lists no others); check it exists"
        )


def _label(ctx: Context, report: Preflight, side: Side, name: str, value: str, key: str) -> None:
    known = ctx.known[side]
    seen = known.labels.get(name, set())
    if not known.pulled:
        return
    if not seen:
        report.limits.append(
            f"{key}: {known.connection}'s pulled tickets show no {name}, so {value!r} was not checked"
        )
    elif value not in seen:
        report.problems.append(
            f"{key}: {value!r} is not a {ctx.vendor[side]} {name}; known: {listing(seen)}"
        )


CHECKS: tuple[Check, ...] = (
    forms,
    author_required,
    create_requires,
    authors_known,
    people_known,
    defaults_known,
    statuses_known,
    custom_fields,
)
