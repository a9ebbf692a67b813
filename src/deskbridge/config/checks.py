"""A link checked against both connectors before anything runs, without a warehouse.

Every field must be one the target can write, every status and priority the source can produce
must have a value on the target side, and people ids must have their vendor's form. Each problem
is one line naming the key and the fix; the checks that need a warehouse are in
:mod:`deskbridge.push.preflight`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from deskbridge.config.links import LinkConfig, Side
from deskbridge.sdk import mappings
from deskbridge.sdk.contract import Connector, WriteOp
from deskbridge.sdk.errors import ConfigError, UnmappedValueError

VOCAB_FIELDS = {"status": "status", "priority": "priority"}


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
