"""Custom fields a link carries: ``custom`` and ``source_number_to``, resolved to both sides.

``custom = { "kayako:1" = "trackit:85" }`` names side a's field on the left and side
b's on the right, each as ``<vendor or connection>:<field key>`` (the key ``deskbridge fields``
lists: Track-It!'s sequence, Kayako's custom field id). The planner treats each mapping as one more
ticket field, named by its left-hand side: merged against the crosswalk's bases, won by
``conflict``, written where the link writes. ``source_number_to`` is a one-way field: the
ticket number of the side it does not name, written into the field it names.

Values are compared in side a's terms: a side b value goes back through the inverted value map
and is converted to side a's field type; a value is written converted to the target field's
type (the ``fields`` catalog's), so ``5`` lands in a text field as ``"5"``. A value that does
not convert is refused with :class:`~deskbridge.sdk.errors.UnmappedValueError`, naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from deskbridge.config import CustomField, LinkConfig, Side
from deskbridge.sdk.errors import UnmappedValueError

SOURCE_NUMBER = "source_number_to"
SIDES: tuple[Side, Side] = ("a", "b")
WIDENS = {("integer", "number"), ("choice", "text"), ("text", "choice"), ("date", "datetime")}
Types = Mapping[Side, Mapping[str, str]]  # side -> field key -> type, from the fields catalog


@dataclass(frozen=True)
class MappedField:
    """One mapped field: its key on each side (``None``: the ticket's number, never written)."""

    name: str  # the planner's field name: the config key (side a's reference)
    config_key: str  # where it is configured, for messages
    keys: dict[Side, str | None]
    values: dict[str, str] = field(default_factory=dict)  # side a value -> side b value
    transform: str | None = None

    def writes(self, side: Side) -> bool:
        return self.keys[side] is not None

    def canon(self, side: Side, value: Any, types: Types) -> Any:
        """``value`` read on ``side``, in side a's terms (unchanged when it does not convert)."""
        if side == "a" or value is None:
            return value
        back = {v: k for k, v in reversed(self.values.items())}
        value = back.get(value, value) if isinstance(value, str) else value
        try:
            return coerce(value, _type(types, "a", self.keys["a"]), self.config_key)
        except UnmappedValueError:
            return value

    def to_side(self, side: Side, canonical: Any, types: Types) -> Any:
        """A side a value as ``side`` writes it: value map, then the target field's type."""
        if side == "b" and isinstance(canonical, str):
            canonical = self.values.get(canonical, canonical)
        return coerce(canonical, _type(types, side, self.keys[side]), self.config_key)


def _type(types: Types, side: Side, key: str | None) -> str | None:
    return None if key is None else types.get(side, {}).get(key)


def split_ref(ref: str) -> tuple[str, str] | None:
    """``"whmcs:field:7"`` -> ``("whmcs", "field:7")``; ``None`` when malformed."""
    prefix, sep, key = ref.partition(":")
    return (prefix, key) if sep and prefix and key else None


def ref_side(ref: str, conn: Mapping[Side, str], vendor: Mapping[Side, str]) -> list[Side]:
    """The sides whose connection name or vendor is ``ref``'s prefix (a connection name first)."""
    parts = split_ref(ref)
    if parts is None:
        return []
    named = [s for s in SIDES if conn[s] == parts[0]]
    return named or [s for s in SIDES if vendor[s] == parts[0]]


def mapped_fields(
    link: LinkConfig, conn: Mapping[Side, str], vendor: Mapping[Side, str]
) -> tuple[list[MappedField], list[str]]:
    """The link's mapped fields, and one line per reference that names no side rightly."""
    out, problems = [], []
    where = f"links.{link.name}"
    for left, right in link.custom.items():
        spec = right if isinstance(right, CustomField) else CustomField(to=right)
        key = f'{where}.custom."{left}"'
        bad = [
            f"{key}: {ref!r} is not side {side} ({vendor[side]} connection {conn[side]!r}); "
            f"write it as '{vendor[side]}:<field key>' (`deskbridge fields {conn[side]}` lists them)"
            for ref, side in zip((left, spec.to), SIDES, strict=True)
            if side not in ref_side(ref, conn, vendor)
        ]
        problems += bad
        if not bad:
            keys: dict[Side, str | None] = {"a": _key(left), "b": _key(spec.to)}
            out.append(MappedField(left, key, keys, dict(spec.values), spec.transform))
    if link.source_number_to:
        ref, key = link.source_number_to, f"{where}.source_number_to"
        sides = ref_side(ref, conn, vendor)
        if not sides:
            problems.append(
                f"{key}: {ref!r} names neither side; write it as '{vendor['b']}:<field key>'"
            )
        else:
            side: Side = "b" if "b" in sides else "a"
            keys = {"a": None, "b": None}
            keys[side] = _key(ref)
            out.append(MappedField(SOURCE_NUMBER, key, keys))
    return out, problems


def field_keys(maps: list[MappedField]) -> dict[Side, list[str]]:
    """The custom field keys each side's values are read for."""
    return {s: [k for m in maps if (k := m.keys[s]) is not None] for s in SIDES}


def _key(ref: str) -> str:
    return ref.partition(":")[2]


# -- values ------------------------------------------------------------------------------------
def coerce(value: Any, kind: str | None, key: str = "custom field") -> Any:
    """``value`` as a field of type ``kind`` holds it (JSON-safe: dates as ISO text)."""
    if value is None or kind is None:
        return value
    try:
        out = _CONVERT.get(kind, _text)(value)
    except (TypeError, ValueError):
        out = None
    if out is None:
        raise FieldValueError(key, kind, value)
    return out


class FieldValueError(UnmappedValueError):
    """A mapped field's value that the other side's field type cannot hold."""

    def __init__(self, key: str, kind: str, value: object) -> None:
        super().__init__(key, value, ())
        self.args = (f"{key}: {value!r} cannot be written to the {kind} field; map it in values",)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    number = float(value)
    return int(number) if number.is_integer() else None


def _number(value: Any) -> float | None:
    return None if isinstance(value, bool) else float(value)


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
        str(value).strip().casefold()
    )


def _datetime(value: Any) -> str:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return when.isoformat()


def _date(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return datetime.fromisoformat(_datetime(value)).date().isoformat()


def _multichoice(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


_CONVERT = {
    "text": _text,
    "choice": _text,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "datetime": _datetime,
    "date": _date,
    "multichoice": _multichoice,
}


def json_safe(value: Any) -> Any:
    """A stored value as the planner compares it: dates and times as UTC ISO text."""
    if isinstance(value, datetime):
        return _datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
