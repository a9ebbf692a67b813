"""Every read and write of the push side's tables: the crosswalk, ``push_*``, and the link's state.

The planner never queries: :func:`load_state` reads what it needs once per phase into a frozen
:class:`LinkState` (the crosswalk and both sides' tickets, notes, time entries, people and marked
records). A chunk's outcomes (crosswalk rows linked, rows refused, rows skipped) are written
through registered Arrow tables, never row by row: a push of 10k tickets records tens of
thousands of outcomes, and a statement per outcome costs more than the writes it records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import duckdb
import pyarrow as pa

from deskbridge.config import LinkConfig, Side
from deskbridge.push.markers import LEGACY, link_tag
from deskbridge.sdk.errors import ConfigError
from deskbridge.warehouse.deletions import VENDOR_PROOFS
from deskbridge.warehouse.idlist import IDS, id_list
from deskbridge.warehouse.store import Warehouse, utcnow

XW_KEY = ("entity", "origin", "origin_id")
_XW = pa.schema(
    [
        ("entity", pa.string()),
        ("origin", pa.string()),
        ("origin_id", pa.string()),
        ("a_id", pa.string()),
        ("b_id", pa.string()),
        ("state", pa.string()),
        ("marker", pa.string()),
        ("base_a", pa.string()),
        ("base_b", pa.string()),
    ]
)
_XW_KEY = pa.schema([(k, pa.string()) for k in XW_KEY])
_FAIL = pa.schema(
    [
        ("entity", pa.string()),
        ("target", pa.string()),
        ("source_id", pa.string()),
        ("op", pa.string()),
        ("reason", pa.string()),
    ]
)
_KEY = pa.schema([("entity", pa.string()), ("target", pa.string()), ("source_id", pa.string())])
_SKIP = pa.schema(
    [
        ("entity", pa.string()),
        ("target", pa.string()),
        ("source_id", pa.string()),
        ("reason", pa.string()),
    ]
)


class PushStore:
    """Writes one link's push outcomes; every method runs inside the caller's transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, link: str) -> None:
        self.con, self.link = con, link

    def intents(self, rows: Iterable[dict[str, Any]]) -> None:
        """Pending crosswalk rows, recorded before their writes are sent; existing rows are kept."""
        self._with(
            "xw_in",
            _table(({**r, "base_a": None, "base_b": None} for r in rows), _XW),
            "INSERT OR IGNORE INTO crosswalk (link, entity, origin, origin_id, a_id, b_id, "
            "state, marker) SELECT ?, entity, origin, origin_id, a_id, b_id, 'pending', marker FROM xw_in",
            [self.link],
        )

    def created(self, row: dict[str, Any]) -> None:
        """A pending create's new id, known before its follow-up requests are sent."""
        self.con.execute(
            "UPDATE crosswalk SET a_id = coalesce(?, a_id), b_id = coalesce(?, b_id), state = 'created' "
            "WHERE link = ? AND entity = ? AND origin = ? AND origin_id = ? AND state IN ('pending', 'created')",
            [row["a_id"], row["b_id"], self.link, row["entity"], row["origin"], row["origin_id"]],
        )

    def withdrawn(self, rows: list[dict[str, Any]]) -> None:
        """Pending rows of writes the target refused: nothing landed, so nothing is pending."""
        self._with(
            "xw_out",
            _table(rows, _XW_KEY),
            "DELETE FROM crosswalk x USING xw_out WHERE x.link = ? "
            "AND x.state = 'pending' AND x.entity = xw_out.entity AND x.origin = xw_out.origin "
            "AND x.origin_id = xw_out.origin_id",
            [self.link],
        )

    def linked(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Upsert crosswalk rows; their bases merge into what the row held (per field, newest wins)."""
        merged: dict[tuple[str, ...], dict[str, Any]] = {}
        for row in rows:  # two writes of one pair in a chunk (a->b and b->a) become one row
            key = tuple(row[k] for k in XW_KEY)
            old = merged.get(key)
            if old is None:
                merged[key] = {
                    **row,
                    "base_a": dict(row.get("base_a") or {}),
                    "base_b": dict(row.get("base_b") or {}),
                }
                continue
            for side in ("a", "b"):
                old[f"{side}_id"] = row.get(f"{side}_id") or old[f"{side}_id"]
                old[f"base_{side}"].update(row.get(f"base_{side}") or {})
            old["state"] = row["state"]
        table = _table(
            (
                {**r, "base_a": _dump(r["base_a"]), "base_b": _dump(r["base_b"])}
                for r in merged.values()
            ),
            _XW,
        )
        self._with(
            "xw_in",
            table,
            "INSERT INTO crosswalk (link, entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b, pushed_at) "
            "SELECT ?, entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b, ? FROM xw_in "
            "ON CONFLICT DO UPDATE SET a_id = coalesce(excluded.a_id, crosswalk.a_id), "
            "b_id = coalesce(excluded.b_id, crosswalk.b_id), state = excluded.state, "
            "base_a = json_merge_patch(coalesce(crosswalk.base_a, '{}'), coalesce(excluded.base_a, '{}')), "
            "base_b = json_merge_patch(coalesce(crosswalk.base_b, '{}'), coalesce(excluded.base_b, '{}')), "
            "pushed_at = excluded.pushed_at",
            [self.link, now],
        )
        self._with(
            "xw_in",
            table,
            "UPDATE crosswalk x SET hash_a = md5(coalesce(x.base_a::VARCHAR, '')), "
            "hash_b = md5(coalesce(x.base_b::VARCHAR, '')) FROM xw_in WHERE x.link = ? AND x.entity = xw_in.entity "
            "AND x.origin = xw_in.origin AND x.origin_id = xw_in.origin_id",
            [self.link],
        )

    def resolved(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Failures of these (entity, target, source id) went through this time."""
        latest = {(r["entity"], r["target"], r["source_id"]): r for r in rows}
        self._with(
            "ok_in",
            _table(latest.values(), _KEY),
            "UPDATE push_failures f SET resolved_at = ? FROM ok_in WHERE f.link = ? AND f.entity = ok_in.entity "
            "AND f.target = ok_in.target AND f.source_id = ok_in.source_id AND f.resolved_at IS NULL",
            [now, self.link],
        )

    def failed(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Refused rows: one per (entity, target, source id), attempts counted across runs."""
        latest = {(r["entity"], r["target"], r["source_id"]): r for r in rows}
        self._with(
            "fail_in",
            _table(latest.values(), _FAIL),
            "INSERT INTO push_failures SELECT ?, entity, target, source_id, op, reason, 1, ?, ?, NULL FROM fail_in "
            "ON CONFLICT DO UPDATE SET op = excluded.op, reason = excluded.reason, attempts = push_failures.attempts + 1, "
            "last_failed_at = excluded.last_failed_at, resolved_at = NULL",
            [self.link, now, now],
        )

    def skipped(self, rows: list[dict[str, Any]], now: datetime) -> None:
        latest = {(r["entity"], r["target"], r["source_id"]): r for r in rows}
        self._with(
            "skip_in",
            _table(latest.values(), _SKIP),
            "INSERT OR REPLACE INTO push_skips SELECT ?, entity, target, source_id, reason, ? FROM skip_in",
            [self.link, now],
        )

    def _with(self, name: str, table: pa.Table, sql: str, params: list[Any]) -> None:
        if table.num_rows == 0:
            return
        self.con.register(name, table)
        try:
            self.con.execute(sql, params)
        finally:
            self.con.unregister(name)


def _table(rows: Iterable[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


def _dump(base: dict[str, Any] | None) -> str | None:
    return json.dumps(base, default=str) if base else None


# -- the link's state, read once per phase ---------------------------------------------------
TICKET_FIELDS = (
    "subject",
    "status",
    "priority",
    "status_category",
    "priority_level",
    "updated_at",
    "number",
    "requester_id",
    "assignee_id",
    "department",
    "created_at",
)
CHILD_FIELDS = {
    "notes": ("ticket_id", "kind", "visibility", "body", "author_name", "created_at"),
    "time_entries": (
        "ticket_id",
        "seconds_worked",
        "seconds_billable",
        "work_time",
        "bill_time",
        "note",
        "worker_name",
    ),
}
Rows = Mapping[Side, tuple[dict[str, Any], ...]]
Person = tuple[str, str, str | None, str | None, bool]  # source id, kind, name, e-mail, deleted
Marked = tuple[str, str, str, str]  # table, source id, ticket id, text carrying a marker


SIDES: tuple[Side, Side] = ("a", "b")


def _per_side() -> dict[Side, tuple[Any, ...]]:
    return {"a": (), "b": ()}


def _no_fields() -> dict[Side, dict[str, Any]]:
    return {"a": {}, "b": {}}


@dataclass(frozen=True)
class LinkState:
    """One link's state as the planner sees it: built by :func:`load_state`, or by hand in tests.

    ``crosswalk``: rows with ``entity, origin, origin_id, a, b, state, marker, base_a, base_b``.
    ``tickets``/``notes``/``time_entries``: live rows per side, oldest first. ``gone``: entity ->
    side -> id -> parent ticket id of records the vendor itself answered gone. ``people``: every
    person row per side. ``marked``: records per side whose text carries this link's marker.
    ``fields``: per side, ticket id -> custom field key -> value of the fields the link maps
    (:func:`deskbridge.push.fieldmap.json_safe`); ``field_types``: per side, key -> catalog type.
    """

    crosswalk: tuple[dict[str, Any], ...] = ()
    tickets: Rows = field(default_factory=_per_side)
    notes: Rows = field(default_factory=_per_side)
    time_entries: Rows = field(default_factory=_per_side)
    gone: Mapping[str, Mapping[Side, Mapping[str, str | None]]] = field(default_factory=dict)
    people: Mapping[Side, tuple[Person, ...]] = field(default_factory=_per_side)
    marked: Mapping[Side, tuple[Marked, ...]] = field(default_factory=_per_side)
    fields: Mapping[Side, Mapping[str, Mapping[str, Any]]] = field(default_factory=_no_fields)
    field_types: Mapping[Side, Mapping[str, str]] = field(default_factory=_no_fields)

    @cached_property
    def xw(self) -> dict[tuple[str, Side, str], dict[str, Any]]:
        """Crosswalk rows by (entity, side, id on that side)."""
        out: dict[tuple[str, Side, str], dict[str, Any]] = {}
        for row in self.crosswalk:
            for side in ("a", "b"):
                if row[side]:
                    out[(row["entity"], side, row[side])] = row
        return out

    @cached_property
    def by_marker(self) -> dict[str, dict[str, Any]]:
        return {row["marker"]: row for row in self.xw.values()}

    def rows(self, entity: str, side: Side) -> tuple[dict[str, Any], ...]:
        return getattr(self, entity)[side]

    def linked(self, entity: str) -> list[dict[str, Any]]:
        """The entity's linked crosswalk rows, each once."""
        unique = {
            id(row): row
            for (e, _, _), row in self.xw.items()
            if e == entity and row["state"] == "linked"
        }
        return list(unique.values())

    def person(self, side: Side, person_id: str | None) -> dict[str, Any]:
        """Name and e-mail of a person (deleted or not), empty if unknown."""
        for sid, _kind, name, email, _deleted in self.people[side] if person_id else ():
            if sid == person_id:
                return {"name": name, "email": email}
        return {}


def load_state(
    con: duckdb.DuckDBPyConnection,
    link: LinkConfig,
    field_keys: Mapping[Side, Iterable[str]] | None = None,
) -> LinkState:
    """Everything the planner reads of ``link``, in one pass over the warehouse.

    ``field_keys``: the custom fields the link maps on each side (their values are read).
    """
    conn: dict[Side, str] = {"a": link.a, "b": link.b}
    keys = {s: sorted(set((field_keys or {}).get(s, ()))) for s in SIDES}
    crosswalk = _crosswalk(con, link.name)
    legacy = any(LEGACY.fullmatch(r["marker"] or "") for r in crosswalk if r["a"] or r["b"])
    entities = {*link.entities, "tickets", "notes"}  # time entries copied as notes are notes there
    return LinkState(
        crosswalk=crosswalk,
        tickets={s: _live(con, "tickets", conn[s], TICKET_FIELDS, "created_at") for s in SIDES},
        notes=_children(con, "notes", conn, "notes" in link.entities),
        time_entries=_children(con, "time_entries", conn, "time_entries" in link.entities),
        gone={e: {s: _gone(con, e, conn[s]) for s in SIDES} for e in entities},
        people={s: people_rows(con, conn[s], deleted=True) for s in SIDES},
        marked={s: _marked(con, link.name, conn[s], legacy) for s in SIDES},
        fields={s: field_values(con, conn[s], keys[s]) for s in SIDES},
        field_types={s: field_types(con, conn[s], keys[s]) for s in SIDES},
    )


def field_values(
    con: duckdb.DuckDBPyConnection, conn: str, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """Live tickets' values of the custom fields ``keys``: ticket id -> key -> JSON-safe value."""
    if not keys:
        return {}
    rows = con.execute(
        "SELECT ticket_id, field_key, type, value_text, value_number, value_time, value_bool, "
        "value_json FROM ticket_fields WHERE connection = ? AND deleted_at IS NULL "
        f"AND field_key IN (SELECT {IDS})",
        [conn, id_list(keys)],
    ).fetchall()
    out: dict[str, dict[str, Any]] = {}
    for ticket_id, key, *value in rows:
        out.setdefault(ticket_id, {})[key] = _field_value(*value)
    return out


def _field_value(kind: str, text: Any, number: Any, when: Any, flag: Any, raw: Any) -> Any:
    """One stored value, JSON-safe (as the planner compares it and the crosswalk keeps it)."""
    if kind == "integer" and number is not None:
        return int(number)
    if kind == "number":
        return number
    if kind == "boolean":
        return flag
    if kind == "multichoice":
        return None if raw is None else json.loads(raw)
    if kind in ("date", "datetime") and when is not None:
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        return when.date().isoformat() if kind == "date" else when.isoformat()
    return text


def field_catalog(con: duckdb.DuckDBPyConnection, conn: str) -> dict[str, dict[str, Any]]:
    """The connection's live ``fields`` catalog: key -> label, type, writable, choices, seen.

    ``seen``: the values the connection's live tickets hold, for choice fields (a vendor that
    lists no choices, like Track-It!'s look-ups, still shows which exist).
    """
    rows = con.execute(
        """SELECT f.field_key, f.label, f.type, f.writable, CAST(f.choices AS VARCHAR),
                  list(DISTINCT v.value) FILTER (WHERE v.value IS NOT NULL)
           FROM fields f LEFT JOIN (
               SELECT field_key, value_text AS value FROM ticket_fields
               WHERE connection = $conn AND deleted_at IS NULL AND type = 'choice'
               UNION ALL SELECT field_key, unnest(CAST(value_json AS VARCHAR[])) FROM ticket_fields
               WHERE connection = $conn AND deleted_at IS NULL AND type = 'multichoice'
           ) v USING (field_key)
           WHERE f.connection = $conn AND f.deleted_at IS NULL GROUP BY ALL""",
        {"conn": conn},
    ).fetchall()
    keys = ("label", "type", "writable", "choices", "seen")
    out = {key: dict(zip(keys, rest, strict=True)) for key, *rest in rows}
    for spec in out.values():
        spec["choices"] = None if spec["choices"] is None else json.loads(spec["choices"])
        spec["seen"] = set(spec["seen"] or ())
    return out


def field_types(con: duckdb.DuckDBPyConnection, conn: str, keys: list[str]) -> dict[str, str]:
    """The catalog type of each of ``keys`` that the connection's ``fields`` catalog holds."""
    if not keys:
        return {}
    rows = con.execute(
        "SELECT field_key, type FROM fields WHERE connection = ? AND deleted_at IS NULL "
        f"AND field_key IN (SELECT {IDS})",
        [conn, id_list(keys)],
    ).fetchall()
    return dict(rows)


def _crosswalk(con: duckdb.DuckDBPyConnection, link: str) -> tuple[dict[str, Any], ...]:
    rows = con.execute(
        "SELECT entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b "
        "FROM crosswalk WHERE link = ?",
        [link],
    ).fetchall()
    keys = ("entity", "origin", "origin_id", "a", "b", "state", "marker", "base_a", "base_b")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    for row in out:
        row["base_a"], row["base_b"] = _load(row["base_a"]), _load(row["base_b"])
    return tuple(out)


def _live(
    con: duckdb.DuckDBPyConnection, entity: str, conn: str, columns: tuple[str, ...], order: str
) -> tuple[dict[str, Any], ...]:
    sql = f"SELECT source_id, {', '.join(columns)} FROM {entity} WHERE connection = ? AND deleted_at IS NULL"
    cur = con.execute(f"{sql} ORDER BY {order} NULLS LAST, source_id", [conn])
    return tuple(dict(zip(("source_id", *columns), r, strict=True)) for r in cur.fetchall())


def _children(
    con: duckdb.DuckDBPyConnection, entity: str, conn: dict[Side, str], wanted: bool
) -> dict[Side, tuple[dict[str, Any], ...]]:
    if not wanted:
        return _per_side()
    order = "created_at" if entity == "notes" else "work_time"
    return {s: _live(con, entity, conn[s], CHILD_FIELDS[entity], order) for s in ("a", "b")}


def _gone(con: duckdb.DuckDBPyConnection, entity: str, conn: str) -> dict[str, str | None]:
    parent = "NULL" if entity == "tickets" else "ticket_id"
    rows = con.execute(
        f"SELECT source_id, {parent} FROM {entity} WHERE connection = ? AND deleted_at IS NOT NULL "
        f"AND deleted_proof IN (SELECT {IDS})",  # only what the vendor answered gone
        [conn, id_list(VENDOR_PROOFS)],
    ).fetchall()
    return dict(rows)


def people_rows(
    con: duckdb.DuckDBPyConnection, conn: str, *, deleted: bool = False
) -> tuple[Person, ...]:
    """People of a connection; ``deleted``: those deleted too."""
    where = "" if deleted else " AND deleted_at IS NULL"
    rows = con.execute(
        "SELECT source_id, kind, name, email, deleted_at IS NOT NULL FROM people "
        f"WHERE connection = ?{where}",
        [conn],
    ).fetchall()
    return tuple(rows)


def ticket_labels(con: duckdb.DuckDBPyConnection, conn: str) -> dict[str, set[str]]:
    """The departments and statuses a connection's pulled tickets show, deleted tickets too."""
    rows = con.execute(
        "SELECT DISTINCT department, status FROM tickets WHERE connection = ?", [conn]
    ).fetchall()
    return {
        "department": {r[0] for r in rows if r[0] is not None},
        "status": {r[1] for r in rows if r[1] is not None},
    }


def _marked(
    con: duckdb.DuckDBPyConnection, link: str, conn: str, legacy: bool
) -> tuple[Marked, ...]:
    """Records whose text may end with a marker of ``link`` (a ticket: any string of ``raw``)."""
    mine = f"[deskbridge:{link_tag(link)}:"
    mark = "(contains({0}, ?) OR (? AND regexp_matches({0}, '\\[deskbridge:[0-9a-f]{{12}}\\]')))"
    rows = con.execute(
        f"""SELECT 'notes', source_id, ticket_id, body, created_at FROM notes
           WHERE connection = ? AND deleted_at IS NULL AND {mark.format("body")}
           UNION ALL SELECT 'time_entries', source_id, ticket_id, note, work_time FROM time_entries
           WHERE connection = ? AND deleted_at IS NULL AND {mark.format("note")}
           UNION ALL SELECT 'tickets', source_id, source_id, CAST(raw AS VARCHAR), created_at FROM tickets
           WHERE connection = ? AND deleted_at IS NULL AND contains(CAST(raw AS VARCHAR), ?)
           ORDER BY 5 NULLS LAST, 2""",
        [conn, mine, legacy] * 2 + [conn, mine],
    ).fetchall()
    return tuple((table, sid, ticket, text) for table, sid, ticket, text, _ in rows)


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# -- the executor's view of the crosswalk, and push runs ---------------------------------------
def twins_and_keys(
    con: duckdb.DuckDBPyConnection, link: str
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str, str], tuple[str, str]]]:
    """``twins``: (side, ticket id) -> its linked twin's id. ``keys``: (entity, side, id) -> the
    row's (origin, origin_id), whichever side a write starts from."""
    rows = con.execute(
        "SELECT entity, origin, origin_id, a_id, b_id, state FROM crosswalk WHERE link = ?",
        [link],
    ).fetchall()
    twins: dict[tuple[str, str], str] = {}
    keys: dict[tuple[str, str, str], tuple[str, str]] = {}
    for entity, origin, origin_id, a_id, b_id, state in rows:
        if entity == "tickets" and state == "linked":
            twins[("a", a_id)], twins[("b", b_id)] = b_id, a_id
        for side, sid in (("a", a_id), ("b", b_id)):
            if sid is not None:
                keys[(entity, side, sid)] = (origin, origin_id)
    return twins, keys


def start_push(con: duckdb.DuckDBPyConnection, link: str, dry_run: bool) -> int:
    (push_id,) = con.execute("SELECT coalesce(max(push_id), 0) + 1 FROM push_runs").fetchone()  # type: ignore[misc]
    con.execute(
        "INSERT INTO push_runs (push_id, link, started_at, status, dry_run, counts) VALUES (?, ?, ?, 'running', ?, '{}')",
        [push_id, link, utcnow(), dry_run],
    )
    return int(push_id)


def finish_push(
    con: duckdb.DuckDBPyConnection,
    push_id: int,
    status: str,
    counts: dict[str, Any],
    error: str | None = None,
) -> None:
    con.execute(
        "UPDATE push_runs SET ended_at = ?, status = ?, counts = ?, error = ? WHERE push_id = ?",
        [utcnow(), status, json.dumps(counts), error, push_id],
    )


# -- recovery and migration scopes -------------------------------------------------------------
def unlocated_creates(con: duckdb.DuckDBPyConnection, link: str, origin: Side) -> int:
    """Pending ticket creates from ``origin`` whose new id on the other side is unknown."""
    target = "b" if origin == "a" else "a"
    row = con.execute(
        f"SELECT count(*) FROM crosswalk WHERE link = ? AND entity = 'tickets' AND origin = ? "
        f"AND state = 'pending' AND {target}_id IS NULL",
        [link, origin],
    ).fetchone()
    return int(row[0]) if row else 0


def pending_child_tickets(
    con: duckdb.DuckDBPyConnection, link: LinkConfig, origin: Side
) -> list[str]:
    """Target-side tickets holding child writes from ``origin`` that a crash left pending."""
    target = "b" if origin == "a" else "a"
    rows = con.execute(
        f"""SELECT DISTINCT t.{target}_id FROM crosswalk c
            JOIN (SELECT connection, source_id, ticket_id FROM notes UNION ALL
                  SELECT connection, source_id, ticket_id FROM time_entries) r
              ON r.connection = ? AND r.source_id = c.origin_id
            JOIN crosswalk t ON t.link = c.link AND t.entity = 'tickets' AND t.{origin}_id = r.ticket_id
            WHERE c.link = ? AND c.state = 'pending' AND c.origin = ? AND c.entity <> 'tickets'
              AND t.{target}_id IS NOT NULL""",
        [getattr(link, origin), link.name, origin],
    ).fetchall()
    return [r[0] for r in rows]


def first_tickets(con: duckdb.DuckDBPyConnection, connection: str, n: int) -> set[str]:
    """The ``n`` oldest live tickets of a connection (a demo migration's scope)."""
    rows = con.execute(
        "SELECT source_id FROM tickets WHERE connection = ? AND deleted_at IS NULL ORDER BY created_at, source_id LIMIT ?",
        [connection, n],
    ).fetchall()
    return {r[0] for r in rows}


def changed_since_full_run(con: duckdb.DuckDBPyConnection, link: LinkConfig) -> set[str] | None:
    """Source tickets that changed, or whose notes or time entries did, since the last full run began."""
    row = con.execute(
        "SELECT max(started_at) FROM push_runs WHERE link = ? AND NOT dry_run AND counts->>'mode' = 'full'",
        [link.name],
    ).fetchone()
    since = row[0] if row else None
    if since is None:
        return None  # no full run yet: a delta is everything
    rows = con.execute(
        """SELECT source_id FROM ticket_history WHERE connection = ? AND seen_at >= ?
           UNION SELECT ticket_id FROM notes WHERE connection = ? AND first_seen_at >= ?
           UNION SELECT ticket_id FROM time_entries WHERE connection = ? AND first_seen_at >= ?""",
        [link.a, since] * 3,
    ).fetchall()
    return {r[0] for r in rows}


# -- what a user clears or exports ---------------------------------------------------------------
ENTITIES = ("tickets", "notes", "time_entries")


@dataclass(frozen=True)
class Record:
    """``ENTITY:ID``: a record on either side of a link."""

    entity: str
    source_id: str

    @classmethod
    def parse(cls, text: str) -> Record:
        entity, sep, source_id = text.partition(":")
        if not sep or entity not in ENTITIES or not source_id:
            raise ConfigError(
                f"--record {text!r}: expected ENTITY:ID with ENTITY one of {', '.join(ENTITIES)} (e.g. notes:reply:12)"
            )
        return cls(entity, source_id)


def known_links(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Links the warehouse holds anything of (a migration's link may not be configured)."""
    rows = con.execute(
        "SELECT link FROM crosswalk UNION SELECT link FROM push_failures UNION SELECT link FROM push_skips ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def reset_link(
    wh: Warehouse,
    link: str,
    *,
    pending: bool = False,
    failed: bool = False,
    records: tuple[Record, ...] = (),
) -> dict[str, int]:
    """Delete what the flags select (nothing given: everything of the link); rows removed per table.

    Like dlt's ``drop``: says what it removed, table by table, in one transaction, and touches
    nothing else. Synced rows stay; only where the next push starts changes.
    """
    everything = not (pending or failed or records)
    wheres: dict[str, list[tuple[str, list[str]]]] = {
        "crosswalk": [],
        "push_failures": [],
        "push_skips": [],
    }
    if everything:
        wheres = {table: [("TRUE", [])] for table in wheres}
    if pending:
        wheres["crosswalk"].append(("state = 'pending'", []))
    if failed:
        wheres["push_failures"].append(("resolved_at IS NULL", []))
    for r in records:
        wheres["crosswalk"].append(
            ("entity = ? AND ? IN (origin_id, a_id, b_id)", [r.entity, r.source_id])
        )
        for table in ("push_failures", "push_skips"):
            wheres[table].append(("entity = ? AND source_id = ?", [r.entity, r.source_id]))
    removed = {}
    with wh.transaction():
        for table, clauses in wheres.items():
            if clauses:
                where = " OR ".join(f"({sql})" for sql, _ in clauses)
                params = [link, *(p for _, ps in clauses for p in ps)]
                (n,) = wh.con.execute(
                    f"SELECT count(*) FROM {table} WHERE link = ? AND ({where})", params
                ).fetchone()  # type: ignore[misc]
                wh.con.execute(f"DELETE FROM {table} WHERE link = ? AND ({where})", params)
                removed[table] = int(n)
    return removed


def export_rows(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Every crosswalk row of every link: (header, rows)."""
    cursor = con.execute(
        "SELECT link, entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b, pushed_at "
        "FROM crosswalk ORDER BY link, entity, origin, origin_id"
    )
    header = [d[0] for d in cursor.description]
    return header, cursor.fetchall()
