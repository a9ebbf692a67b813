"""The two sides of a link: connection names, vendors, vocabularies and what each can write."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deskbridge import registry
from deskbridge.config import LinkConfig, Settings, Side
from deskbridge.sdk import mappings
from deskbridge.sdk.contract import Capability, WriteOp
from deskbridge.sdk.mappings import ValueMap


@dataclass
class Sides:
    """Both connections of a link: names, vendors, vocabularies and what each can write."""

    conn: dict[Side, str]
    vendor: dict[Side, str]
    vocab: dict[Side, dict[str, ValueMap]]
    write_ops: dict[Side, frozenset[WriteOp]]
    note_kinds: dict[Side, frozenset[str]]
    public_notes: dict[Side, bool]
    private_replies: dict[Side, bool] = field(default_factory=lambda: {"a": True, "b": True})
    recheck: dict[Side, bool] = field(default_factory=lambda: {"a": True, "b": True})
    # recheck: the side's connector can re-read single tickets


def vendors_of(settings: Settings, link: LinkConfig) -> dict[Side, str]:
    return {"a": settings.connections[link.a].type, "b": settings.connections[link.b].type}


def sides_for(link: LinkConfig, vendors: dict[Side, str]) -> Sides:
    vocab, ops, kinds, public, private, recheck = {}, {}, {}, {}, {}, {}
    for side in ("a", "b"):
        mapping = mappings.load(link.mappings.get(side, vendors[side]))
        vocab[side] = {f: mapping.values(f) for f in ("status", "priority")}
        cls = registry.get(vendors[side]).connector_class()
        ops[side], kinds[side], public[side] = cls.write_ops, cls.note_kinds, cls.public_notes
        private[side], recheck[side] = cls.private_replies, cls.can(Capability.READ_TICKETS)
    return Sides({"a": link.a, "b": link.b}, vendors, vocab, ops, kinds, public, private, recheck)  # type: ignore[arg-type]


def canon(sides: Sides, side: Side, field_name: str, value: Any) -> Any:
    if field_name in ("status", "priority") and value is not None:
        return sides.vocab[side][field_name].to_canonical(value, value)
    return value


def to_target(sides: Sides, target: Side, field_name: str, canonical: Any) -> Any:
    if field_name in ("status", "priority") and canonical is not None:
        return sides.vocab[target][field_name].to_vendor(canonical)
    return canonical
