"""Links: which connections push to which, what flows, and who wins a conflict.

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
```

A link is checked against both connectors before anything runs: every field must be one the
target can write, and every status and priority the source can produce must have a value on
the target side. The message says which and why.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deskbridge.sdk import mappings
from deskbridge.sdk.contract import Connector, WriteOp
from deskbridge.sdk.errors import ConfigError, UnmappedValueError

Side = Literal["a", "b"]
VOCAB_FIELDS = {"status": "status", "priority": "priority"}


class LinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    a: str
    b: str
    direction: Literal["a_to_b", "b_to_a", "both"] = "both"
    entities: list[Literal["tickets", "notes", "time_entries"]] = ["tickets", "notes", "time_entries"]
    fields: list[str] = Field(default_factory=lambda: ["subject", "status", "priority"])
    conflict: dict[str, Literal["a", "b", "newest"]] = Field(default_factory=dict)
    default_conflict: Literal["a", "b", "newest"] = "newest"
    correlate: str | None = None
    time_entries_as: Literal["note", "skip"] = "note"
    filters: dict[str, list[str]] = Field(default_factory=dict)
    mappings: dict[Side, str] = Field(default_factory=dict)
    author: dict[Side, str] = Field(default_factory=dict)  # people id that writes on each side
    defaults: dict[Side, dict[str, str]] = Field(default_factory=dict)  # fields for tickets created there
    deletes: Literal["keep", "propagate"] = "keep"
    people: dict[str, str] = Field(default_factory=dict)  # side a person id -> side b person id

    def targets(self) -> list[Side]:
        """Sides written to: b for a_to_b, a for b_to_a, both for both."""
        return {"a_to_b": ["b"], "b_to_a": ["a"], "both": ["b", "a"]}[self.direction]  # type: ignore[return-value]

    def winner(self, field: str) -> str:
        return self.conflict.get(field, self.default_conflict)


def check_link(link: LinkConfig, connectors: dict[Side, type[Connector]], vendors: dict[Side, str]) -> None:
    """Refuse a link whose writes cannot work, naming the field or value and the reason."""
    where = f"links.{link.name}"
    for target in link.targets():
        source: Side = "a" if target == "b" else "b"
        cls = connectors[target]
        if "tickets" in link.entities and WriteOp.CREATE_TICKET not in cls.write_ops:
            raise ConfigError(f"{where}: {vendors[target]} cannot create tickets")
        for field in link.fields:
            if field not in cls.writable_fields:
                raise ConfigError(
                    f"{where}.fields: {field!r} cannot be written to {vendors[target]} "
                    f"(writable: {', '.join(sorted(cls.writable_fields)) or 'none'})"
                )
        if "notes" in link.entities and WriteOp.ADD_NOTE not in cls.write_ops:
            raise ConfigError(f"{where}.entities: {vendors[target]} cannot add notes")
        for field in VOCAB_FIELDS:
            if field in link.fields:
                _check_vocab(where, link, field, source, target, vendors)


def _check_vocab(where: str, link: LinkConfig, field: str, source: Side, target: Side, vendors: dict[Side, str]) -> None:
    src = mappings.load(link.mappings.get(source, vendors[source])).values(field)
    dst = mappings.load(link.mappings.get(target, vendors[target])).values(field)
    for value, canonical in src.forward.items():
        try:
            dst.to_vendor(canonical)
        except UnmappedValueError:
            raise ConfigError(
                f"{where}: {vendors[source]} {field} {value!r} (canonical {canonical!r}) has no "
                f"{vendors[target]} value; known: {', '.join(sorted(set(dst.forward.values())))}"
            ) from None


def parse_links(raw: dict[str, Any]) -> dict[str, LinkConfig]:
    return {name: LinkConfig.model_validate({**body, "name": name}) for name, body in raw.items()}
