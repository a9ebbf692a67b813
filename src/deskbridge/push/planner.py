"""Planning a push: what each side of a link needs so both agree, computed from the warehouse.

Tickets are merged field by field against the values both sides last agreed on (the
crosswalk's ``base_a``/``base_b``), compared in canonical terms (status category, priority
level), so a value deskbridge wrote is recognised when it is read back and never echoed.
Notes and time entries are append-only: a record with no twin is created on the other side,
carrying a marker so a write that landed before a crash is found and linked, not repeated.
A record is the link's own write, never pushed back, when its text ends with the link's marker
(:mod:`deskbridge.push.markers`); another link's marker, or a quoted one, is ordinary content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from deskbridge import registry
from deskbridge.config import LinkConfig, Side
from deskbridge.push.lifecycle import deletions, digest, note_edits
from deskbridge.push.markers import MARKER, Stamps, marker_for, own_marker
from deskbridge.push.people import PEOPLE_FIELDS, PeopleMatcher, UnmatchedPerson
from deskbridge.sdk import mappings
from deskbridge.sdk.contract import Capability, WriteOp
from deskbridge.sdk.errors import UnmappedValueError
from deskbridge.sdk.mappings import ValueMap

__all__ = [
    "MARKER",
    "Action",
    "Planner",
    "marker_for",
    "own_marker",
]  # markers are re-exported for callers
ORPHAN = (
    "written by link "  # a skip of the link's own write whose crosswalk row is gone (links reset)
)
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


@dataclass
class Action:
    """One write (or link) the push will do; plans are lists of these, stored as JSON."""

    kind: str  # create_ticket, update_ticket, add_note, add_time_entry, link, relink
    entity: str
    target: Side
    origin: Side
    origin_id: str  # source id on the origin side
    marker: str
    parent: str | None = None  # origin-side ticket id of a child record
    target_id: str | None = None  # twin id, for updates and links
    payload: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(
        default_factory=dict
    )  # bases to record once done: {"a": {...}, "b": {...}}
    reason: str = ""

    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.entity, self.target, self.origin_id)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
    recheck: dict[Side, bool] = field(
        default_factory=lambda: {"a": True, "b": True}
    )  # can re-read single tickets


def sides_for(link: LinkConfig, vendors: dict[Side, str]) -> Sides:
    vocab, ops, kinds, public, private, recheck = {}, {}, {}, {}, {}, {}
    for side in ("a", "b"):
        mapping = mappings.load(link.mappings.get(side, vendors[side]))  # type: ignore[arg-type]
        vocab[side] = {f: mapping.values(f) for f in ("status", "priority")}
        cls = registry.get(vendors[side]).connector_class()  # type: ignore[index]
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


class Planner:
    """Reads one link's state from the warehouse and returns the actions that reconcile it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, link: LinkConfig, sides: Sides) -> None:
        self.con, self.link, self.sides = con, link, sides
        self.xw = self._crosswalk()
        self.stamps = Stamps(
            con, link.name, sides.conn, {row["marker"]: row for row in self.xw.values()}
        )
        self.people = (
            PeopleMatcher(con, sides.conn, link.people)
            if set(link.fields) & set(PEOPLE_FIELDS)
            else None
        )
        self._child_rows: dict[tuple[str, Side], list[dict[str, Any]]] = {}

    def plan(self, only: set[str] | None = None) -> list[Action]:
        """``only``: restrict to these origin-side ticket ids of side a (for demo migrations)."""
        actions, doomed = (
            deletions(self) if only is None else ([], {"a": set(), "b": set()})
        )  # a demo only copies
        actions += self._merge_linked(only) if "tickets" in self.link.entities else []
        for target in self.link.targets():
            origin: Side = "b" if target == "a" else "a"
            scope = only if origin == "a" else None
            tickets = (
                self._tickets(origin, target, scope) if "tickets" in self.link.entities else []
            )
            parents = {a.origin_id for a in tickets if a.kind != "update_ticket"}
            parents |= {
                k[2]
                for k, row in self.xw.items()
                if k[:2] == ("tickets", origin) and row["state"] == "linked"
            }
            if scope is not None:
                parents &= scope
            parents -= doomed[origin]
            actions += tickets
            for entity in ("notes", "time_entries"):
                if entity in self.link.entities:
                    actions += self._children(entity, origin, target, parents)
        if "notes" in self.link.entities and only is None:
            notes = {
                s: {r["source_id"]: r for r in self._rows_children("notes", s)} for s in ("a", "b")
            }
            actions += note_edits(self, notes)  # type: ignore[arg-type]
        relinked = {(a.target, a.target_id) for a in actions if a.kind == "relink"}
        return [
            a
            for a in actions
            if not (a.reason.startswith(ORPHAN) and (a.origin, a.origin_id) in relinked)
        ]

    def canon(self, side: Side, field_name: str, value: Any) -> Any:
        """A field's value in terms both sides share: canonical status, side a's person ids."""
        if field_name in PEOPLE_FIELDS and self.people is not None:
            return self.people.canonical(side, field_name, value)
        return canon(self.sides, side, field_name, value)

    def to_target(self, target: Side, field_name: str, canonical: Any) -> Any:
        if field_name in PEOPLE_FIELDS and self.people is not None:
            return self.people.to_side(target, field_name, canonical)
        return to_target(self.sides, target, field_name, canonical)

    # -- state -----------------------------------------------------------------------------
    def _crosswalk(self) -> dict[tuple[str, Side, str], dict[str, Any]]:
        """Crosswalk rows by (entity, side, id on that side)."""
        rows = self.con.execute(
            "SELECT entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b FROM crosswalk WHERE link = ?",
            [self.link.name],
        ).fetchall()
        out: dict[tuple[str, Side, str], dict[str, Any]] = {}
        for entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b in rows:
            row = {
                "entity": entity,
                "origin": origin,
                "origin_id": origin_id,
                "a": a_id,
                "b": b_id,
                "state": state,
                "marker": marker,
                "base_a": _json(base_a),
                "base_b": _json(base_b),
            }
            for side in ("a", "b"):
                if row[side]:
                    out[(entity, side, row[side])] = row  # type: ignore[index]
        return out

    def _rows(self, entity: str, side: Side, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        sql = f"SELECT source_id, {', '.join(columns)} FROM {entity} WHERE connection = ? AND deleted_at IS NULL"
        cur = self.con.execute(
            sql + " ORDER BY created_at NULLS LAST, source_id", [self.sides.conn[side]]
        )
        return [dict(zip(("source_id", *columns), r, strict=True)) for r in cur.fetchall()]

    def _wanted(self, ticket: dict[str, Any]) -> bool:
        return all(str(ticket.get(k)) in values for k, values in self.link.filters.items())

    # -- tickets ---------------------------------------------------------------------------
    def _tickets(self, origin: Side, target: Side, only: set[str] | None) -> list[Action]:
        tickets = self._rows("tickets", origin, TICKET_FIELDS)
        theirs = {t["source_id"]: t for t in self._rows("tickets", target, TICKET_FIELDS)}
        mine = self.stamps.own_tickets(origin)
        actions = []
        for ticket in tickets:
            sid = ticket["source_id"]
            if only is not None and sid not in only:
                continue
            row = self.xw.get(("tickets", origin, sid))
            if row and (row["state"] not in ("pending", "created") or row["origin"] != origin):
                continue  # linked pairs merge once, in _merge_linked; deleted pairs are done
            if sid in mine:  # the link created it: an echo, unless its crosswalk row is gone
                if mine[sid] not in self.stamps.rows:
                    actions.append(self._orphan("tickets", origin, target, sid, None, mine[sid]))
            elif self._wanted(ticket):
                actions.append(self._create_or_link(ticket, theirs, row, origin, target))
        return actions

    def _orphan(
        self, entity: str, origin: Side, target: Side, sid: str, parent: str | None, marker: str
    ) -> Action:
        reason = f"{ORPHAN}{self.link.name} (its marker ends the text) and no crosswalk row holds it: not pushed back"
        return Action("skip", entity, target, origin, sid, marker, parent=parent, reason=reason)

    def _create_or_link(
        self,
        ticket: dict[str, Any],
        theirs: dict[str, dict[str, Any]],
        row: dict[str, Any] | None,
        origin: Side,
        target: Side,
    ) -> Action:
        sid = ticket["source_id"]
        marker = row["marker"] if row else marker_for(self.link.name, "tickets", origin, sid)
        written = self.stamps.written(target, marker, "tickets")
        # a create that landed (its id committed, or its marker found) is resumed, never repeated;
        # without a crosswalk row (a reset) the copy found by its marker is linked as it is
        found = (row[target] or written) if row else None
        twin = None if found else written or self._correlated(ticket, theirs, target)
        if twin is not None:
            base = self._agreed(ticket, theirs[twin], origin, target) if twin in theirs else {}
            kind = "relink" if twin == written else "link"
            return Action(kind, "tickets", target, origin, sid, marker, target_id=twin, base=base)
        payload, unmatched = {}, []
        try:
            for f in self.link.fields:
                try:
                    payload[f] = self.to_target(target, f, self.canon(origin, f, ticket.get(f)))
                except UnmatchedPerson as exc:
                    unmatched.append(str(exc))  # the ticket still lands, without that person
        except UnmappedValueError as exc:
            return Action("reject", "tickets", target, origin, sid, marker, reason=str(exc))
        person = self._person(origin, ticket.get("requester_id"))
        payload.update(requester_name=person.get("name"), requester_email=person.get("email"))
        for key, value in self.link.defaults.get(target, {}).items():
            if payload.get(key) in (None, ""):  # a default fills what the source left empty
                payload[key] = value
        payload["body"] = (
            f"Synced from {self.sides.vendor[origin]} ticket {ticket.get('number') or sid}. {marker}"
        )
        return Action(
            "create_ticket",
            "tickets",
            target,
            origin,
            sid,
            marker,
            target_id=found,
            payload=payload,
            base=self._created_bases(ticket, payload, origin, target),
            reason="; ".join(unmatched),
        )

    def _person(self, side: Side, person_id: str | None) -> dict[str, Any]:
        if not person_id:
            return {}
        row = self.con.execute(
            "SELECT name, email FROM people WHERE connection = ? AND source_id = ?",
            [self.sides.conn[side], person_id],
        ).fetchone()
        return {"name": row[0], "email": row[1]} if row else {}

    def _correlated(
        self, ticket: dict[str, Any], theirs: dict[str, dict[str, Any]], target: Side
    ) -> str | None:
        key = self.link.correlate
        if not key or ticket.get(key) in (None, ""):
            return None
        for tid, other in theirs.items():
            if other.get(key) == ticket.get(key) and ("tickets", target, tid) not in self.xw:
                return tid
        return None

    def _created_bases(
        self, ticket: dict[str, Any], payload: dict[str, Any], origin: Side, target: Side
    ) -> dict[str, Any]:
        fields = self.link.fields
        return {
            origin: {f: ticket.get(f) for f in fields},
            target: {f: payload.get(f) for f in fields},
        }

    def _agreed(
        self, mine: dict[str, Any], twin: dict[str, Any], origin: Side, target: Side
    ) -> dict[str, Any]:
        fields = self.link.fields
        return {origin: {f: mine.get(f) for f in fields}, target: {f: twin.get(f) for f in fields}}

    def _merge_linked(self, only: set[str] | None) -> list[Action]:
        """Each linked pair once: per field, agree, or let the side that changed (or wins) move the other."""
        rows = {
            s: {t["source_id"]: t for t in self._rows("tickets", s, TICKET_FIELDS)}
            for s in ("a", "b")
        }
        actions: list[Action] = []
        seen: set[int] = set()
        for (entity, _, _), row in self.xw.items():
            if entity != "tickets" or row["state"] != "linked" or id(row) in seen:
                continue
            seen.add(id(row))
            a, b = rows["a"].get(row["a"]), rows["b"].get(row["b"])
            if a is None or b is None or (only is not None and row["a"] not in only):
                continue
            actions += self._merge_pair(row, {"a": a, "b": b})
        return actions

    def _merge_pair(self, row: dict[str, Any], cur: dict[Side, dict[str, Any]]) -> list[Action]:
        changes: dict[Side, dict[str, Any]] = {"a": {}, "b": {}}
        stale: dict[Side, dict[str, Any]] = {"a": {}, "b": {}}
        unmatched: list[str] = []
        for f in self.link.fields:
            va, vb = self.canon("a", f, cur["a"].get(f)), self.canon("b", f, cur["b"].get(f))
            base = {s: (row[f"base_{s}"] or {}).get(f) for s in ("a", "b")}
            if va == vb:
                for s in ("a", "b"):
                    if base[s] != cur[s].get(f):
                        stale[s][f] = cur[s].get(f)
                continue
            a_moved, b_moved = (
                va != self.canon("a", f, base["a"]),
                vb != self.canon("b", f, base["b"]),
            )
            if not (a_moved or b_moved):
                continue  # agreed at the last push; a lossy value map keeps them apart, not a change
            winner = self._winner(f, a_moved, b_moved, cur)
            loser: Side = "b" if winner == "a" else "a"
            if loser in self.link.targets():
                try:
                    changes[loser][f] = self.to_target(loser, f, va if winner == "a" else vb)
                except (
                    UnmatchedPerson
                ) as exc:  # this field stays as it is on each side; the others go on
                    unmatched.append(str(exc))
                    for s in ("a", "b"):
                        stale[s][f] = cur[s].get(f)
                except UnmappedValueError as exc:
                    origin: Side = "a" if loser == "b" else "b"
                    return [
                        Action(
                            "reject",
                            "tickets",
                            loser,
                            origin,
                            row[origin],
                            row["marker"],
                            reason=str(exc),
                        )
                    ]
        actions = []
        for target in ("a", "b"):
            if changes[target]:
                origin = "b" if target == "a" else "a"
                base = {
                    origin: {f: cur[origin].get(f) for f in changes[target]},
                    target: dict(changes[target]),
                }
                actions.append(
                    Action(
                        "update_ticket",
                        "tickets",
                        target,
                        origin,
                        row[origin],
                        row["marker"],  # type: ignore[arg-type]
                        target_id=row[target],
                        payload=changes[target],
                        base=base,
                    )
                )
        if unmatched or (not actions and (stale["a"] or stale["b"])):
            actions.append(
                Action(
                    "rebase",
                    "tickets",
                    "b",
                    "a",
                    row["a"],
                    row["marker"],
                    target_id=row["b"],
                    base={s: v for s, v in stale.items() if v},
                    reason="; ".join(unmatched),
                )
            )
        return actions

    def _winner(
        self, f: str, a_changed: bool, b_changed: bool, cur: dict[Side, dict[str, Any]]
    ) -> Side:
        if a_changed != b_changed:
            return "a" if a_changed else "b"
        policy = self.link.winner(f)
        if policy != "newest":
            return policy  # type: ignore[return-value]
        ua, ub = cur["a"].get("updated_at"), cur["b"].get("updated_at")
        if ua is not None and ub is not None and ua != ub:
            return "a" if ua > ub else "b"
        return "a"  # a tie goes to side a, so the outcome never depends on planning order

    # -- notes and time entries -----------------------------------------------------------
    def _children(self, entity: str, origin: Side, target: Side, parents: set[str]) -> list[Action]:
        actions = []
        for rec in self._rows_children(entity, origin):
            sid, parent = rec["source_id"], rec["ticket_id"]
            row = self.xw.get((entity, origin, sid))
            if parent not in parents or (row and row["state"] != "pending"):
                continue
            text = rec.get("body") if entity == "notes" else rec.get("note")
            if self.stamps.echo(origin, text, sid, parent):  # the link wrote it: never pushed back
                mark = own_marker(text, self.link.name, self.stamps.rows)
                if mark not in self.stamps.rows:
                    actions.append(self._orphan(entity, origin, target, sid, parent, mark))  # type: ignore[arg-type]
                continue
            marker = row["marker"] if row else marker_for(self.link.name, entity, origin, sid)
            found = self.stamps.written(target, marker, entity)
            if found:
                base = {origin: {"body": digest(text)}} if entity == "notes" else {}
                actions.append(
                    Action(
                        "relink",
                        entity,
                        target,
                        origin,
                        sid,
                        marker,
                        parent=parent,
                        target_id=found,
                        base=base,
                    )
                )
            elif row and not self.sides.recheck[target]:
                actions.append(
                    Action(
                        "reject",
                        entity,
                        target,
                        origin,
                        sid,
                        marker,
                        parent=parent,
                        reason=self._unverified(target, entity, sid),
                    )
                )
            else:
                actions.append(self._child_action(entity, rec, origin, target, marker))
        return actions

    def _unverified(self, target: Side, entity: str, sid: str) -> str:
        conn = self.sides.conn[target]
        return (
            f"{self.sides.vendor[target]} cannot re-read single tickets, so whether this write landed before a crash "
            f"is unknown: pull {conn} in full (deskbridge sync {conn} --full-refresh) to find it, or "
            f"'deskbridge links reset {self.link.name} --record {entity}:{sid}' to write it again"
        )

    def _child_action(
        self, entity: str, rec: dict[str, Any], origin: Side, target: Side, marker: str
    ) -> Action:
        sid, parent = rec["source_id"], rec["ticket_id"]
        if entity == "notes":
            payload, reason = note_payload(rec, marker), ""
            if payload["kind"] not in self.sides.note_kinds[target]:
                reason = f"{self.sides.vendor[target]} cannot write a {payload['kind']}: carried as a {self.sides.vendor[target]} note"
                payload["kind"] = "note"
            if (
                payload["kind"] == "reply"
                and payload["visibility"] == "private"
                and not self.sides.private_replies[target]
            ):
                reason = f"{self.sides.vendor[target]} replies are always public: a private reply is carried as a private note"
                payload["kind"] = "note"
            if (
                payload["kind"] == "note"
                and payload["visibility"] == "public"
                and not self.sides.public_notes[target]
            ):
                reason = f"{self.sides.vendor[target]} notes are private: carried as a private note"
                payload["visibility"] = "private"
            return Action(
                "add_note",
                entity,
                target,
                origin,
                sid,
                marker,
                parent=parent,
                payload=payload,
                reason=reason,
                base={origin: {"body": digest(rec.get("body"))}},
            )
        if WriteOp.ADD_TIME_ENTRY in self.sides.write_ops[target]:
            return Action(
                "add_time_entry",
                entity,
                target,
                origin,
                sid,
                marker,
                parent=parent,
                payload=_time_payload(rec, marker),
            )
        if self.link.time_entries_as == "note":
            reason = f"{self.sides.vendor[target]} has no time entries: carried as a private note"
            return Action(
                "add_note",
                entity,
                target,
                origin,
                sid,
                marker,
                parent=parent,
                payload=_time_note(rec, marker),
                reason=reason,
            )
        reason = f"{self.sides.vendor[target]} has no time entries and the link says skip"
        return Action("skip", entity, target, origin, sid, marker, parent=parent, reason=reason)

    def _rows_children(self, entity: str, side: Side) -> list[dict[str, Any]]:
        if (entity, side) not in self._child_rows:
            self._child_rows[(entity, side)] = self._read_children(entity, side)
        return self._child_rows[(entity, side)]

    def _read_children(self, entity: str, side: Side) -> list[dict[str, Any]]:
        if entity == "notes":
            cols: tuple[str, ...] = (
                "ticket_id",
                "kind",
                "visibility",
                "body",
                "author_name",
                "created_at",
            )
        else:
            cols = (
                "ticket_id",
                "seconds_worked",
                "seconds_billable",
                "work_time",
                "bill_time",
                "note",
                "worker_name",
            )
        sql = f"SELECT source_id, {', '.join(cols)} FROM {entity} WHERE connection = ? AND deleted_at IS NULL"
        order = "created_at" if entity == "notes" else "work_time"
        cur = self.con.execute(
            f"{sql} ORDER BY {order} NULLS LAST, source_id", [self.sides.conn[side]]
        )
        return [dict(zip(("source_id", *cols), r, strict=True)) for r in cur.fetchall()]


def note_payload(rec: dict[str, Any], marker: str) -> dict[str, Any]:
    when = f"{rec['created_at']:%Y-%m-%d %H:%M} UTC" if rec.get("created_at") else "unknown time"
    signature = f"— {rec.get('author_name') or 'unknown author'}, {when}"
    return {
        "kind": rec["kind"],
        "visibility": rec["visibility"],
        "body": f"{rec.get('body') or ''}\n\n{signature} {marker}",
        "created_at": rec.get("created_at"),
    }


def _time_payload(rec: dict[str, Any], marker: str) -> dict[str, Any]:
    return {
        "seconds_worked": rec.get("seconds_worked"),
        "seconds_billable": rec.get("seconds_billable"),
        "work_time": rec.get("work_time"),
        "bill_time": rec.get("bill_time"),
        "note": f"{rec.get('note') or 'time entry'} — {rec.get('worker_name') or 'unknown worker'} {marker}",
    }


def _time_note(rec: dict[str, Any], marker: str) -> dict[str, Any]:
    worked, billable = _hm(rec.get("seconds_worked")), _hm(rec.get("seconds_billable"))
    when = f"{rec['work_time']:%Y-%m-%d}" if rec.get("work_time") else "an unknown day"
    text = f"Time logged: {worked} (billable {billable}) by {rec.get('worker_name') or 'unknown'} on {when}"
    return {
        "kind": "note",
        "visibility": "private",
        "body": f"{text}: {rec.get('note') or ''} {marker}",
    }


def _hm(seconds: int | None) -> str:
    minutes = (seconds or 0) // 60
    return f"{minutes // 60}h {minutes % 60:02d}m"


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value
