"""What a run needs to know of the canonical tables, without importing SQLModel.

The tables are declared once, in :mod:`deskbridge.sdk.models`; their columns are also in
:mod:`deskbridge.sdk.columns`, generated from those declarations and kept equal to them by a
test. This module answers from that table, so a connector, the hashing of rows and a run on a
warehouse at the current schema never pay for SQLModel's import.
"""

from __future__ import annotations

import functools

from deskbridge.sdk.columns import COLUMNS

# 2: deleted_proof (rows deleted before it are marked 'legacy'); 3: ticket_fields and fields;
# 4: raw_digest (filled in for stored rows)
SCHEMA_VERSION = 4
SYNCED_ENTITIES = ("tickets", "notes", "time_entries", "people", "attachments")
BOOKKEEPING = (
    "raw",
    "content_hash",
    "raw_digest",
    "first_seen_at",
    "last_synced_at",
    "deleted_at",
    "deleted_proof",
    "run_id",
)
FIELD_TYPES = ("text", "integer", "number", "date", "datetime", "boolean", "choice", "multichoice")
FIELDS_KEY = "fields"  # the key of a ticket row that carries its custom field values


@functools.cache
def column_names(table: str) -> frozenset[str]:
    """Every column of the canonical table ``table`` (an entity, ``ticket_fields`` or ``fields``)."""
    return frozenset(name for name, _type in COLUMNS[table])


@functools.cache
def canonical_fields(entity: str) -> tuple[str, ...]:
    """Columns a mapping fills for ``entity`` (everything but keys and bookkeeping)."""
    if entity not in SYNCED_ENTITIES:
        raise KeyError(entity)
    skip = {"connection", "source_id", *BOOKKEEPING}
    return tuple(name for name, _type in COLUMNS[entity] if name not in skip)
