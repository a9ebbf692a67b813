"""Custom ticket fields as a connector hands them over: values on a ticket row, and the catalog.

A vendor defines extra ticket fields (Track-It!'s Custom Text 1-6, Kayako's custom field
groups, ...). A connector that reads them puts a list of :class:`FieldValue` under the ticket
row's ``"fields"`` key (a list, possibly empty: the ticket has no value set; no key at all: this
read did not look at fields, keep what is stored), and the definitions in :attr:`Batch.fields
<deskbridge.sdk.contract.Batch.fields>` as :class:`FieldSpec` rows whenever it has read them all.

``key`` is the field's stable name at the connection, the one a link mapping writes as
``<vendor>:<key>`` (Track-It!'s sequence, ``"85"``); ``field_id`` is the vendor's own id of the
field when it differs. ``value`` is typed in Python: ``str`` for text and choice, ``int`` or
``float``, ``datetime`` (UTC) or ``date``, ``bool``, ``list[str]`` for multichoice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NotRequired, TypedDict

from deskbridge.sdk.canonical import FIELD_TYPES

FieldScalar = str | int | float | bool | date | datetime | list[str] | None


class FieldValue(TypedDict):
    """One custom field's value on one ticket."""

    key: str
    type: str  # one of FIELD_TYPES
    value: FieldScalar
    field_id: NotRequired[str | None]
    label: NotRequired[str | None]  # display name as the vendor showed it with the value


class FieldSpec(TypedDict):
    """One custom field's definition."""

    key: str
    type: str  # one of FIELD_TYPES
    writable: bool
    field_id: NotRequired[str | None]
    label: NotRequired[str | None]
    choices: NotRequired[list[str] | None]  # allowed values, when the API lists them
    source: NotRequired[str | None]  # the endpoint or table the definition came from


def field_value(
    key: Any, kind: str, value: FieldScalar, *, label: str | None = None, field_id: Any = None
) -> FieldValue:
    """A :class:`FieldValue`, with ``kind`` checked against the known field types."""
    if kind not in FIELD_TYPES:
        raise ValueError(f"unknown custom field type {kind!r}; known: {', '.join(FIELD_TYPES)}")
    out = FieldValue(key=str(key), type=kind, value=value, label=label)
    out["field_id"] = None if field_id is None else str(field_id)
    return out
