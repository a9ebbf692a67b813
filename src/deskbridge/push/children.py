"""Notes and time entries: append-only, each created once on the other side, carrying its marker.

A record with no twin is created on the other side; a marker found there (a write that landed
before a crash) links it instead of writing again. A record ending with the link's own marker
is the link's write and is never pushed back.
"""

from __future__ import annotations

from typing import Any

from deskbridge.config import LinkConfig, Side
from deskbridge.push.actions import Action, ActionKind, orphan
from deskbridge.push.crosswalk import LinkState
from deskbridge.push.markers import Stamps, digest, marker_for, own_marker
from deskbridge.push.sides import Sides
from deskbridge.sdk.contract import WriteOp

K = ActionKind


def children(
    state: LinkState,
    link: LinkConfig,
    sides: Sides,
    stamps: Stamps,
    entity: str,
    origin: Side,
    target: Side,
    parents: set[str],
) -> list[Action]:
    """Actions for ``entity`` records of ``origin`` under ``parents`` not yet on ``target``."""
    actions = []
    for rec in state.rows(entity, origin):
        sid, parent = rec["source_id"], rec["ticket_id"]
        row = state.xw.get((entity, origin, sid))
        if parent not in parents or (row and row["state"] != "pending"):
            continue
        text = rec.get("body") if entity == "notes" else rec.get("note")
        if stamps.echo(origin, text, sid, parent):  # the link wrote it: never pushed back
            mark = own_marker(text, link.name, stamps.rows)
            if mark not in stamps.rows:
                actions.append(orphan(link.name, entity, origin, target, sid, parent, mark))  # type: ignore[arg-type]
            continue
        marker = row["marker"] if row else marker_for(link.name, entity, origin, sid)
        found = stamps.written(target, marker, entity)
        if found:
            base = {origin: {"body": digest(text)}} if entity == "notes" else {}
            actions.append(
                Action(
                    K.RELINK,
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
        elif row and not sides.recheck[target]:
            reason = _unverified(link, sides, target, entity, sid)
            actions.append(
                Action(K.REJECT, entity, target, origin, sid, marker, parent=parent, reason=reason)
            )
        else:
            actions.append(_child_action(link, sides, entity, rec, origin, target, marker))
    return actions


def _unverified(link: LinkConfig, sides: Sides, target: Side, entity: str, sid: str) -> str:
    conn = sides.conn[target]
    return (
        f"{sides.vendor[target]} cannot re-read single tickets, so whether this write landed before a crash "
        f"is unknown: pull {conn} in full (deskbridge sync {conn} --full-refresh) to find it, or "
        f"'deskbridge links reset {link.name} --record {entity}:{sid}' to write it again"
    )


def _child_action(
    link: LinkConfig,
    sides: Sides,
    entity: str,
    rec: dict[str, Any],
    origin: Side,
    target: Side,
    marker: str,
) -> Action:
    sid, parent = rec["source_id"], rec["ticket_id"]
    if entity == "notes":
        payload, reason = _carried_note(sides, target, note_payload(rec, marker))
        base = {origin: {"body": digest(rec.get("body"))}}
        return Action(
            K.ADD_NOTE,
            entity,
            target,
            origin,
            sid,
            marker,
            parent=parent,
            payload=payload,
            reason=reason,
            base=base,
        )
    vendor = sides.vendor[target]
    if WriteOp.ADD_TIME_ENTRY in sides.write_ops[target]:
        payload = _time_payload(rec, marker)
        return Action(
            K.ADD_TIME_ENTRY, entity, target, origin, sid, marker, parent=parent, payload=payload
        )
    if link.time_entries_as == "note":
        reason = f"{vendor} has no time entries: carried as a private note"
        payload = _time_note(rec, marker)
        return Action(
            K.ADD_NOTE,
            entity,
            target,
            origin,
            sid,
            marker,
            parent=parent,
            payload=payload,
            reason=reason,
        )
    reason = f"{vendor} has no time entries and the link says skip"
    return Action(K.SKIP, entity, target, origin, sid, marker, parent=parent, reason=reason)


def _carried_note(
    sides: Sides, target: Side, payload: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """The note as ``target`` can hold it, and why it differs from the original (if it does)."""
    vendor, reason = sides.vendor[target], ""
    if payload["kind"] not in sides.note_kinds[target]:
        reason = f"{vendor} cannot write a {payload['kind']}: carried as a {vendor} note"
        payload["kind"] = "note"
    private = payload["visibility"] == "private"
    if payload["kind"] == "reply" and private and not sides.private_replies[target]:
        reason = f"{vendor} replies are always public: a private reply is carried as a private note"
        payload["kind"] = "note"
    public = payload["visibility"] == "public"
    if payload["kind"] == "note" and public and not sides.public_notes[target]:
        reason = f"{vendor} notes are private: carried as a private note"
        payload["visibility"] = "private"
    return payload, reason


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
