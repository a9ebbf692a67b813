"""Planning a push: what each side of a link needs so both agree, as a function of its state.

Tickets are merged field by field against the values both sides last agreed on (the
crosswalk's ``base_a``/``base_b``), compared in canonical terms (status category, priority
level), so a value deskbridge wrote is recognised when it is read back and never echoed.
Notes and time entries are append-only (:mod:`deskbridge.push.children`); deletions
(:mod:`deskbridge.push.deletions`) and note edits (:mod:`deskbridge.push.edits`) follow linked
records after their first push. A record is the link's own write, never pushed back, when its
text ends with the link's marker (:mod:`deskbridge.push.markers`); another link's marker, or a
quoted one, is ordinary content.

:func:`plan` reads nothing: the state comes from :func:`deskbridge.push.crosswalk.load_state`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deskbridge.config import LinkConfig, Side
from deskbridge.push.actions import ORPHAN, Action, ActionKind, orphan
from deskbridge.push.children import children
from deskbridge.push.crosswalk import SIDES, LinkState
from deskbridge.push.deletions import deletions
from deskbridge.push.edits import note_edits
from deskbridge.push.fieldmap import MappedField, mapped_fields
from deskbridge.push.markers import Stamps, marker_for
from deskbridge.push.people import PEOPLE_FIELDS, PeopleMatcher, UnmatchedPerson
from deskbridge.push.sides import Sides, canon, to_target
from deskbridge.sdk.errors import UnmappedValueError

K = ActionKind


def plan(
    state: LinkState, link: LinkConfig, sides: Sides, only: set[str] | None = None
) -> list[Action]:
    """The actions that reconcile ``link``; ``only``: side a's tickets to copy (a demo migration)."""
    return _Planner(state, link, sides).plan(only)


@dataclass
class _Planner:
    """One planning pass over a frozen state; holds what the passes share (stamps, people)."""

    state: LinkState
    link: LinkConfig
    sides: Sides
    stamps: Stamps = field(init=False)
    people: PeopleMatcher | None = field(init=False)
    custom: dict[str, MappedField] = field(init=False)  # mapped custom fields, by field name
    fields: list[str] = field(init=False)  # canonical fields, then the mapped custom ones
    tickets: dict[Side, tuple[dict[str, Any], ...]] = field(init=False)
    # tickets a ``correlate`` match paired in this pass: the other direction must not pair them again
    paired: set[tuple[Side, str]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.stamps = Stamps(self.link.name, self.state.marked, self.state.by_marker)
        wants_people = set(self.link.fields) & set(PEOPLE_FIELDS)
        self.people = PeopleMatcher(self.state.people, self.link.people) if wants_people else None
        maps, _ = mapped_fields(self.link, self.sides.conn, self.sides.vendor)  # preflight says why
        self.custom = {m.name: m for m in maps}
        self.fields = [*self.link.fields, *self.custom]
        self.tickets = {s: tuple(map(self._with_custom(s), self.state.tickets[s])) for s in SIDES}

    def _with_custom(self, side: Side) -> Any:
        """A ticket row with each mapped custom field's value under the field's name."""
        values = self.state.fields[side]

        def row(ticket: dict[str, Any]) -> dict[str, Any]:
            mine = values.get(ticket["source_id"], {})
            return ticket | {
                name: ticket.get("number") if (key := m.keys[side]) is None else mine.get(key)
                for name, m in self.custom.items()
            }

        return row if self.custom else lambda ticket: ticket

    def plan(self, only: set[str] | None) -> list[Action]:
        state, link = self.state, self.link
        actions, doomed = (
            deletions(state, link, self.sides)
            if only is None
            else ([], {"a": set(), "b": set()})  # a demo only copies
        )
        actions += self._merge_linked(only) if "tickets" in link.entities else []
        for target in link.targets():
            origin: Side = "b" if target == "a" else "a"
            scope = only if origin == "a" else None
            tickets = self._tickets(origin, target, scope) if "tickets" in link.entities else []
            parents = {a.origin_id for a in tickets if a.kind != K.UPDATE_TICKET}
            parents |= {sid for side, sid in self.paired if side == origin}  # linked the other way
            parents |= {
                k[2]
                for k, row in state.xw.items()
                if k[:2] == ("tickets", origin) and row["state"] == "linked"
            }
            if scope is not None:
                parents &= scope
            parents -= doomed[origin]
            actions += tickets
            for entity in ("notes", "time_entries"):
                if entity in link.entities:
                    actions += children(
                        state, link, self.sides, self.stamps, entity, origin, target, parents
                    )
        if "notes" in link.entities and only is None:
            actions += note_edits(state, link, self.sides)
        relinked = {(a.target, a.target_id) for a in actions if a.kind == K.RELINK}
        return [
            a
            for a in actions
            if not (a.reason.startswith(ORPHAN) and (a.origin, a.origin_id) in relinked)
        ]

    def canon(self, side: Side, field_name: str, value: Any) -> Any:
        """A field's value in terms both sides share: canonical status, side a's person ids."""
        if field_name in self.custom:
            return self.custom[field_name].canon(side, value, self.state.field_types)
        if field_name in PEOPLE_FIELDS and self.people is not None:
            return self.people.canonical(side, field_name, value)
        return canon(self.sides, side, field_name, value)

    def to_target(self, target: Side, field_name: str, canonical: Any) -> Any:
        if field_name in self.custom:
            return self.custom[field_name].to_side(target, canonical, self.state.field_types)
        if field_name in PEOPLE_FIELDS and self.people is not None:
            return self.people.to_side(target, field_name, canonical)
        return to_target(self.sides, target, field_name, canonical)

    def _writes(self, target: Side, field_name: str) -> bool:
        """Whether ``target`` takes the field (a source number goes only to the side it names)."""
        mapped = self.custom.get(field_name)
        return target in self.link.targets() and (mapped is None or mapped.writes(target))

    def _wire(self, target: Side, values: dict[str, Any]) -> dict[str, Any]:
        """A payload as the target's writer takes it: custom fields under ``fields``, by key."""
        out = {k: v for k, v in values.items() if k not in self.custom}
        custom = {self.custom[k].keys[target]: v for k, v in values.items() if k in self.custom}
        return out | {"fields": custom} if custom else out

    def _wanted(self, ticket: dict[str, Any]) -> bool:
        return all(str(ticket.get(k)) in values for k, values in self.link.filters.items())

    # -- tickets ---------------------------------------------------------------------------
    def _tickets(self, origin: Side, target: Side, only: set[str] | None) -> list[Action]:
        tickets = self.tickets[origin]
        theirs = {t["source_id"]: t for t in self.tickets[target]}
        mine = self.stamps.own_tickets(origin)
        actions = []
        for ticket in tickets:
            sid = ticket["source_id"]
            if only is not None and sid not in only:
                continue
            row = self.state.xw.get(("tickets", origin, sid))
            if row and (row["state"] not in ("pending", "created") or row["origin"] != origin):
                continue  # linked pairs merge once, in _merge_linked; deleted pairs are done
            if sid in mine:  # the link created it: an echo, unless its crosswalk row is gone
                if mine[sid] not in self.stamps.rows:
                    actions.append(
                        orphan(self.link.name, "tickets", origin, target, sid, None, mine[sid])
                    )
            elif (origin, sid) not in self.paired and self._wanted(ticket):
                actions.append(self._create_or_link(ticket, theirs, row, origin, target))
        return actions

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
            base = self._bases(ticket, theirs[twin], origin, target) if twin in theirs else {}
            kind = K.RELINK if twin == written else K.LINK
            return Action(kind, "tickets", target, origin, sid, marker, target_id=twin, base=base)
        payload, unmatched = {}, []
        try:
            for f in (f for f in self.fields if self._writes(target, f)):
                try:
                    payload[f] = self.to_target(target, f, self.canon(origin, f, ticket.get(f)))
                except UnmatchedPerson as exc:
                    unmatched.append(str(exc))  # the ticket still lands, without that person
        except UnmappedValueError as exc:
            return Action(K.REJECT, "tickets", target, origin, sid, marker, reason=str(exc))
        person = self.state.person(origin, ticket.get("requester_id"))
        payload.update(requester_name=person.get("name"), requester_email=person.get("email"))
        for key, value in self.link.defaults.get(target, {}).items():
            if payload.get(key) in (None, ""):  # a default fills what the source left empty
                payload[key] = value
        payload["body"] = (
            f"Synced from {self.sides.vendor[origin]} ticket {ticket.get('number') or sid}. {marker}"
        )
        return Action(
            K.CREATE_TICKET,
            "tickets",
            target,
            origin,
            sid,
            marker,
            target_id=found,
            payload=self._wire(target, payload),
            base=self._bases(ticket, payload, origin, target),
            reason="; ".join(unmatched),
        )

    def _correlated(
        self, ticket: dict[str, Any], theirs: dict[str, dict[str, Any]], target: Side
    ) -> str | None:
        key = self.link.correlate
        if not key or ticket.get(key) in (None, ""):
            return None
        for tid, other in theirs.items():
            if (
                other.get(key) == ticket.get(key)
                and ("tickets", target, tid) not in self.state.xw
                and (target, tid) not in self.paired
            ):
                self.paired.add((target, tid))
                return tid
        return None

    def _bases(
        self, mine: dict[str, Any], twin: dict[str, Any], origin: Side, target: Side
    ) -> dict[str, Any]:
        fields = self.fields
        return {origin: {f: mine.get(f) for f in fields}, target: {f: twin.get(f) for f in fields}}

    def _merge_linked(self, only: set[str] | None) -> list[Action]:
        """Each linked pair once: per field, agree, or let the side that changed (or wins) move the other."""
        rows = {s: {t["source_id"]: t for t in self.tickets[s]} for s in ("a", "b")}
        actions: list[Action] = []
        seen: set[int] = set()
        for (entity, _, _), row in self.state.xw.items():
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
        for f in self.fields:
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
            if self._writes(loser, f):
                try:
                    changes[loser][f] = self.to_target(loser, f, va if winner == "a" else vb)
                # an unmatched person: this field stays as it is on each side; the others go on
                except UnmatchedPerson as exc:
                    unmatched.append(str(exc))
                    for s in SIDES:
                        stale[s][f] = cur[s].get(f)
                except UnmappedValueError as exc:
                    origin: Side = "a" if loser == "b" else "b"
                    return [
                        Action(
                            K.REJECT,
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
                        K.UPDATE_TICKET,
                        "tickets",
                        target,
                        origin,
                        row[origin],
                        row["marker"],
                        target_id=row[target],
                        payload=self._wire(target, changes[target]),
                        base=base,
                    )
                )
        if unmatched or (not actions and (stale["a"] or stale["b"])):
            actions.append(
                Action(
                    K.REBASE,
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
