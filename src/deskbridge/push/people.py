"""Matching people across the two sides of a link, for the assignee and requester fields.

A person id means nothing to the other helpdesk ("staff:3" on Kayako, "technician:7" on
Track-It!), so a link that syncs ``assignee_id`` or ``requester_id`` translates it: first by
the link's explicit ``people`` table (side a id -> side b id), then by e-mail address
(case-insensitive), then by full name where the name is unique on the other side (Track-It!
shows technicians by name only). Only people of the field's kind are candidates: an assignee
is matched among staff, a requester among requesters.

Values are compared in side a's ids: a side-b person with no match compares as
``unmatched:<id>``, so it never looks equal to anyone and cannot be written to side a.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from deskbridge.config import Side
from deskbridge.sdk.errors import UnmappedValueError

PEOPLE_FIELDS = {"assignee_id": "staff", "requester_id": "requester"}
UNMATCHED = "unmatched:"


class UnmatchedPerson(UnmappedValueError):
    def __init__(self, field: str, who: str, target: str) -> None:
        super().__init__(field, who, [])
        self.args = (
            f"{field}: no {PEOPLE_FIELDS[field]} person on side {target} matches {who} by e-mail or "
            f"unique name; add the pair to the link's people table",
        )

    def __str__(self) -> str:
        return str(self.args[0])


class PeopleMatcher:
    """Who is who across a link; ``people``: each side's person rows
    (source id, kind, name, e-mail, deleted), as :func:`crosswalk.people_rows` reads them."""

    def __init__(
        self,
        people: Mapping[Side, Iterable[tuple[str, str, str | None, str | None, bool]]],
        explicit: dict[str, str],
    ) -> None:
        self.rows: dict[Side, dict[str, tuple[str, str | None, str | None]]] = {}
        self.index: dict[Side, dict[tuple[str, str, str], list[str]]] = {}
        for side in ("a", "b"):
            found = [p[:4] for p in people[side] if not p[4]]
            self.rows[side] = {sid: (kind, name, email) for sid, kind, name, email in found}
            index: dict[tuple[str, str, str], list[str]] = defaultdict(list)
            for sid, kind, name, email in found:
                if email:
                    index[(kind, "email", email.strip().lower())].append(sid)
                if name:
                    index[(kind, "name", " ".join(name.lower().split()))].append(sid)
            self.index[side] = index
        self.explicit = {"a": dict(explicit), "b": {v: k for k, v in explicit.items()}}

    def twin(self, side: Side, person_id: str, kind: str) -> str | None:
        """The person on the other side who is ``person_id`` on ``side``, if exactly one matches."""
        return self.match(side, person_id, kind)[0]

    def match(self, side: Side, person_id: str, kind: str) -> tuple[str | None, str]:
        """(twin id or None, how: "table", "email", "name", "ambiguous" or "none")."""
        if person_id in self.explicit[side]:
            return self.explicit[side][person_id], "table"
        row = self.rows[side].get(person_id)
        if row is None:
            return None, "none"
        other: Side = "b" if side == "a" else "a"
        _, name, email = row
        keys = ([("email", email.strip().lower())] if email else []) + (
            [("name", " ".join(name.lower().split()))] if name else []
        )
        how = "none"
        for key, value in keys:
            candidates = self.index[other].get((kind, key, value), [])
            if len(candidates) == 1:
                return candidates[0], key
            how = "ambiguous" if candidates else how
        return None, how

    def report(self, kinds: set[str] | None = None) -> list[dict[str, Any]]:
        """Every person on side a (of ``kinds``) with their match on side b: what a link would write."""
        out = []
        for sid, (kind, name, email) in sorted(
            self.rows["a"].items(), key=lambda item: (item[1][0], _natural(item[0]))
        ):
            if kinds is not None and kind not in kinds:
                continue
            twin, how = self.match("a", sid, kind)
            other = self.rows["b"].get(twin or "", (None, None, None))
            out.append(
                {
                    "kind": kind,
                    "a_id": sid,
                    "a_name": name,
                    "a_email": email,
                    "b_id": twin,
                    "b_name": other[1],
                    "b_email": other[2],
                    "matched_by": how,
                }
            )
        return out

    def canonical(self, side: Side, field: str, person_id: Any) -> Any:
        if not person_id or side == "a":
            return person_id or None
        twin = self.twin("b", str(person_id), PEOPLE_FIELDS[field])
        return twin if twin is not None else f"{UNMATCHED}{person_id}"

    def to_side(self, target: Side, field: str, canonical: Any) -> Any:
        if not canonical:
            return None
        if str(canonical).startswith(UNMATCHED):
            raise UnmatchedPerson(field, self.describe("b", canonical[len(UNMATCHED) :]), "a")
        if target == "a":
            return canonical
        twin = self.twin("a", str(canonical), PEOPLE_FIELDS[field])
        if twin is None:
            raise UnmatchedPerson(field, self.describe("a", canonical), "b")
        return twin

    def describe(self, side: Side, person_id: str) -> str:
        _kind, name, email = self.rows[side].get(person_id, ("?", None, None))
        return f"{person_id} ({', '.join(x for x in (name, email) if x) or 'unknown'})"


def _natural(source_id: str) -> tuple[str, int]:
    prefix, _, number = source_id.rpartition(":")
    return (prefix, int(number)) if number.isdigit() else (source_id, 0)
