"""Helpers for the custom field tests: the warehouse's ticket_fields in ground-truth terms."""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

COLUMNS = ("ticket_id", "field_key", "field_id", "label", "type")


def typed(kind: str, text: Any, number: Any, time: Any, flag: Any, raw: Any) -> Any:
    """The value of one ticket_fields row, read from the column its type uses."""
    if kind == "integer":
        return None if number is None else int(number)
    if kind == "number":
        return number
    if kind in ("date", "datetime"):  # as ground truth has them: ISO 8601 text
        return text
    if kind == "boolean":
        return flag
    if kind == "multichoice":
        return None if raw is None else orjson.loads(raw)
    return text


def stored_fields(con: duckdb.DuckDBPyConnection, connection: str) -> dict[str, dict[str, Any]]:
    """Live ticket_fields rows of ``connection``, keyed ``"<ticket>:<field key>"`` like the truth."""
    rows = con.execute(
        f"SELECT {', '.join(COLUMNS)}, value_text, value_number, value_time, value_bool, value_json "
        "FROM ticket_fields WHERE connection = ? AND deleted_at IS NULL",
        [connection],
    ).fetchall()
    out = {}
    for row in rows:
        record = dict(zip(COLUMNS, row[:5], strict=True))
        record["value"] = typed(record["type"], *row[5:])
        out[f"{record['ticket_id']}:{record['field_key']}"] = record
    return out


def catalog(con: duckdb.DuckDBPyConnection, connection: str) -> list[tuple[Any, ...]]:
    """``(field_key, label, type, writable, choices)`` of the live catalog, by key."""
    return con.execute(
        "SELECT field_key, label, type, writable, CAST(choices AS VARCHAR) FROM fields "
        "WHERE connection = ? AND deleted_at IS NULL ORDER BY try_cast(field_key AS BIGINT), field_key",
        [connection],
    ).fetchall()
