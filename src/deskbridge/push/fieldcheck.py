"""Preflight of a link's custom fields against each side's ``fields`` catalog in the warehouse.

Each problem names the config key (``links.<name>.custom."kayako:2"``, ``...source_number_to``):
a reference that names no side, a field key the connection's catalog does not have, a target
field that is read-only or that deskbridge cannot write to that vendor, types that differ
without a value map or ``transform``, and a value the link would write that is not one of a
choice field's choices (the catalog's, or, where the vendor lists none, those its pulled
tickets show; then only the values the link's ``values`` name). A connection not pulled yet is
a limit: its catalog is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deskbridge import registry
from deskbridge.config import Side, listing
from deskbridge.push.fieldmap import WIDENS, MappedField, mapped_fields

if TYPE_CHECKING:
    from deskbridge.push.preflight import Context, Preflight

CHOICES = ("choice", "multichoice")


def custom_fields(ctx: Context, report: Preflight) -> None:
    """Every mapped custom field exists on its side, can be written where the link writes it,
    has a type the other side's value converts to, and gets only values its choices allow."""
    conn: dict[Side, str] = {s: ctx.known[s].connection for s in ("a", "b")}
    maps, problems = mapped_fields(ctx.link, conn, ctx.vendor)
    report.problems += problems
    for m in maps:
        if all(_exists(ctx, report, m, side) for side in ("a", "b")):
            for target in ctx.link.targets():
                if m.writes(target):
                    _target(ctx, report, m, target)


def _exists(ctx: Context, report: Preflight, m: MappedField, side: Side) -> bool:
    key, known = m.keys[side], ctx.known[side]
    if key is None:
        return True
    if not known.pulled:
        report.limits.append(
            f"{m.config_key}: {known.connection} has not been pulled yet, so its field {key!r} "
            f"was not checked; run `deskbridge sync {known.connection}` to check it"
        )
        return False
    if key not in known.fields:
        names = [f"{k} ({spec['label']})" for k, spec in known.fields.items()]
        hint = (
            f"known: {listing(names)} (`deskbridge fields {known.connection}`)"
            if names
            else f"its last pull stored no custom field catalog (see the {ctx.vendor[side]} "
            "connector's README: some read custom fields only when an option turns them on)"
        )
        report.problems.append(
            f"{m.config_key}: {known.connection} has no custom field {key!r}; {hint}"
        )
        return False
    return True


def _target(ctx: Context, report: Preflight, m: MappedField, target: Side) -> None:
    source: Side = "a" if target == "b" else "b"
    key, known, vendor = m.keys[target], ctx.known[target], ctx.vendor[target]
    spec = known.fields.get(key or "")
    if spec is None:
        return  # the source number, into a field of the other side
    if not spec["writable"]:
        report.problems.append(
            f"{m.config_key}: {vendor} field {key!r} ({spec['label']}) of {known.connection} is "
            "read-only; map a writable one"
        )
        return
    if "fields" not in registry.get(vendor).connector_class().writable_fields:
        one_way = "a_to_b" if target == "a" else "b_to_a"
        report.problems.append(
            f"{m.config_key}: deskbridge cannot write {vendor} custom fields yet; "
            f"carry them one way only (direction = {one_way!r})"
        )
        return
    src = ctx.known[source].fields.get(m.keys[source] or "")
    kind = src["type"] if src else "text"  # the source number is text
    _types(report, m, kind, spec["type"], source, target)
    _choices(report, m, src, spec, source, target)


def _types(
    report: Preflight, m: MappedField, src: str, dst: str, source: Side, target: Side
) -> None:
    fits = src == dst or (src, dst) in WIDENS or dst == "text"
    if m.transform and target == "b" and m.transform != dst:
        report.problems.append(
            f"{m.config_key}: transform = {m.transform!r}, but {m.keys[target]!r} is a {dst} field"
        )
    elif not fits and not (m.values or m.transform):
        report.problems.append(
            f"{m.config_key}: side {source}'s {m.keys[source] or 'number'} is {src}, side "
            f"{target}'s {m.keys[target]} is {dst}; add values = {{ ... }} or transform = {dst!r}"
        )


def _choices(
    report: Preflight,
    m: MappedField,
    src: dict[str, Any] | None,
    dst: dict[str, Any],
    source: Side,
    target: Side,
) -> None:
    """Values the link would write to a choice field: mapped ones, and the source's own."""
    if dst["type"] not in CHOICES:
        return
    allowed = set(dst["choices"] or ()) or dst["seen"]
    if not allowed:
        report.limits.append(
            f"{m.config_key}: {m.keys[target]!r} lists no choices and no pulled ticket sets it, "
            "so the values written to it were not checked"
        )
        return
    mapped = m.values if target == "b" else {v: k for k, v in m.values.items()}
    # the source's own values pass through unmapped; checked against listed choices only (the
    # values a target's tickets happen to show are not all its look-up offers)
    own = set((src["choices"] or ()) or src["seen"]) if src and dst["choices"] else set()
    written = set(mapped.values()) | {v for v in own if v not in mapped}
    for value in sorted(written - allowed):
        origin = "values" if value in mapped.values() else f"side {source}'s own values"
        report.problems.append(
            f"{m.config_key}: {value!r} (from {origin}) is not a choice of "
            f"{m.keys[target]!r} ({dst['label']}); known: {listing(allowed)}"
        )
