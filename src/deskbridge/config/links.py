"""A link between two connections: the ``[links.<name>]`` table, as a model.

What a link may ask of its connectors is checked in :mod:`deskbridge.config.checks`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Side = Literal["a", "b"]


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
