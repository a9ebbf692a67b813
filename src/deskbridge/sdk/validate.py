"""Vendor answers are checked before they can overwrite or delete anything.

A record without a valid id must never become a row: coerced to ``0`` or to a synthetic key,
several records collapse onto one key and a complete :class:`~deskbridge.sdk.contract.Scope` then
marks the real ones deleted. So ids are checked where raw records arrive (:func:`check_ids`,
in the vendor clients, with the record's position in the page), mappings read ids and numbers
strictly (:func:`vendor_id`, :func:`number`, raising :class:`InvalidRecord`) and every batch is
checked once more before the engine sees it (:func:`check_batch`).

A bad record fails the run with a :class:`~deskbridge.sdk.errors.PayloadError` naming vendor,
resource and position; the batch holding it is never committed, so it closes no scope and
proves no deletion, while the batches committed before it stay. Skipping the one record instead
would leave its rows and its deletions unknowable, so nothing is skipped. The same id twice in
one page is an error too: a server that repeats a record may have lost another.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from deskbridge.sdk.contract import Batch
from deskbridge.sdk.errors import PayloadError

MAX_ID = 2**63 - 1  # DuckDB BIGINT, and every vendor's id column
MAX_ID_CHARS = 128
DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²" and "٣"


class InvalidRecord(ValueError):
    """A raw record breaks its vendor's documented shape; the message names the field."""


def show(value: Any, limit: int = 40) -> str:
    """A short, printable picture of a bad value (a 3 MB string stays a line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(str(value))} chars)"


def number(value: Any, field: str, *, optional: bool = False) -> int | None:
    """A whole number sent as an integer or a numeric string, within 64 bits."""
    # the common cases first: this runs on every id and number of every record
    if type(value) is str and 0 < len(value) < 19 and value.isascii() and value.isdigit():
        return int(value)  # at most 18 ASCII digits: within 64 bits
    if type(value) is int and 0 <= value <= MAX_ID:
        return value
    if optional and value in (None, ""):
        return None
    if isinstance(value, bool):
        raise InvalidRecord(f"{field} is {show(value)}, not a number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
        digits = value.strip().lstrip("0") or "0"
        if len(digits) > len(str(MAX_ID)):  # int() of a 3 MB digit string is slow, and refused
            raise InvalidRecord(f"{field} {show(value)} is beyond 64 bits")
        value = int(digits)
    if not isinstance(value, int):
        what = "missing" if value in (None, "") else f"{show(value)}, not a whole number"
        raise InvalidRecord(f"{field} is {what}")
    if not 0 <= value <= MAX_ID:
        raise InvalidRecord(f"{field} {show(value)} is beyond 64 bits")
    return value


def vendor_id(value: Any, field: str = "id", *, numeric: bool = True, zero: bool = False) -> str:
    """A record's id as the string key it is stored under; never a coerced or empty one.

    ``numeric`` vendors' ids are whole numbers within 64 bits (``zero`` says whether 0 is a real
    id); other ids are non-empty text of at most ``MAX_ID_CHARS`` valid Unicode characters.
    """
    if numeric:
        found = number(value, field)
        if found == 0 and not zero:
            raise InvalidRecord(f"{field} is 0, which names no record")
        return str(found)
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) else None
    if text is None or not text.strip():
        raise InvalidRecord(f"{field} is {'missing' if value in (None, '') else show(value)}")
    if len(text) > MAX_ID_CHARS or not _valid_text(text):
        raise InvalidRecord(f"{field} {show(value)} is not an id")
    return text


def check_ids(
    records: Sequence[Any],
    key: str | Callable[[Mapping[str, Any]], Any],
    *,
    vendor: str,
    resource: str,
    numeric: bool = True,
    zero: bool = False,
    numbers: tuple[str, ...] = (),
) -> list[str]:
    """The ids of a page of raw records, each present, well-formed and there once.

    ``numbers`` names fields the reader computes with (e.g. a sort key): they must be whole
    numbers too. Raises a :class:`PayloadError` naming the first bad record's position.
    """
    seen: dict[str, int] = {}
    for position, raw in enumerate(records):
        try:
            if not isinstance(raw, Mapping):
                raise InvalidRecord(f"expected a record, got {type(raw).__name__}")
            ident = vendor_id(
                key(raw) if callable(key) else raw.get(key), _name(key), numeric=numeric, zero=zero
            )
            for field in numbers:
                number(raw.get(field), field)
        except InvalidRecord as exc:
            raise _bad(vendor, resource, position, len(records), str(exc)) from None
        if ident in seen:
            message = (
                f"id {ident} appears twice (records {seen[ident]} and {position} of {len(records)})"
            )
            raise PayloadError(
                f"{message}; the vendor's answer is inconsistent, nothing of it was kept",
                vendor=vendor,
                resource=resource,
            )
        seen[ident] = position
    return list(seen)


@contextmanager
def reading(vendor: str, resource: str, record_id: str | None = None) -> Iterator[None]:
    """Turns a mapping's complaint about a raw record into a PayloadError naming it."""
    try:
        yield
    except (InvalidRecord, ValueError, TypeError, KeyError, OverflowError, AttributeError) as exc:
        detail = (
            str(exc)
            if isinstance(exc, InvalidRecord)
            else f"{type(exc).__name__}: {show(str(exc), 120)}"
        )
        raise PayloadError(
            f"unreadable record ({detail})", vendor=vendor, resource=resource, record_id=record_id
        ) from None


def check_batch(batch: Batch, vendor: str) -> Batch:
    """Every row keyed by a real id and storable (valid Unicode, numbers within 64 bits)."""
    for entity, rows in batch.rows.items():
        check_rows(rows, vendor=vendor, resource=entity)
    for entity, ids in batch.deleted.items():
        bad = [i for i in ids if not _real_key(i)]
        if bad:
            raise PayloadError(
                f"a deletion names {show(bad[0])}, not a real id", vendor=vendor, resource=entity
            )
    return batch


def check_rows(rows: Sequence[Mapping[str, Any]], *, vendor: str, resource: str) -> None:
    """Canonical rows keyed by a real id and storable; for a reader that hashes rows itself."""
    for position, row in enumerate(rows):
        source_id = row.get("source_id")
        if not _real_key(source_id):
            raise _bad(
                vendor,
                resource,
                position,
                len(rows),
                f"source_id {show(source_id)} is not a real id",
            )
        try:
            orjson.dumps(row, default=str)
        except orjson.JSONEncodeError as exc:
            where = _first_unstorable(row) or str(exc)
            raise PayloadError(
                f"{where}; it cannot be stored",
                vendor=vendor,
                resource=resource,
                record_id=source_id,
            ) from None


def _real_key(value: Any) -> bool:
    """A stored key: non-empty text, and a prefixed key (``note:12``) carries an id after the colon."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_ID_CHARS
        or not _valid_text(value)
    ):
        return False
    return not value.endswith((":", ":None", ":0"))


def _first_unstorable(value: Any, path: str = "") -> str | None:
    if isinstance(value, str) and not _valid_text(value):
        return f"field {path or 'value'} holds invalid Unicode (a lone surrogate) {show(value)}"
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not -(2**63) <= value <= 2**64 - 1
    ):
        return f"field {path or 'value'} is {show(value)}, beyond 64 bits"
    children: Any = (
        value.items()
        if isinstance(value, Mapping)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        found = _first_unstorable(child, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad(vendor: str, resource: str, position: int, total: int, detail: str) -> PayloadError:
    return PayloadError(f"record {position} of {total}: {detail}", vendor=vendor, resource=resource)


def _name(key: str | Callable[..., Any]) -> str:
    return key if isinstance(key, str) else "id"
