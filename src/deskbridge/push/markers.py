"""Markers: the token a link appends to what it writes, naming the link, the direction and the record.

``[deskbridge:<link>:<origin>2<target>:<record>]``: ``<link>`` is a digest of the link's name,
``<record>`` a digest of (link, entity, origin side, origin id). A marker identifies one write
of one link, so

* a record on a side is the link's own write (an echo, never pushed back) only when its text
  *ends* with a marker of this link written *into that side*, and the crosswalk names that
  record as the write, or, while the write is pending, it is the first record carrying it;
* another link's marker (a chain of migrations), or this link's marker quoted inside a customer
  reply, is ordinary content and moves like any other text.

A ticket field may carry the marker of the create that made the ticket (a vendor whose create
request takes no text: Track-It's ``recovery_field``): any string of the ticket's ``raw`` ending
with it counts, so a create whose answer was lost is found before any note of it exists.

Markers written before links were named (``[deskbridge:<record>]``) belong to the link whose
crosswalk holds them: the crosswalk stores every marker a link wrote, and a record digest
includes the link's name, so no other link can claim one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Container, Iterable, Mapping
from functools import cache
from typing import Any, Literal

Side = Literal["a", "b"]
MARKER = re.compile(r"\[deskbridge:(?:([0-9a-f]{8}):([ab])2([ab]):)?([0-9a-f]{12})\]")
LEGACY = re.compile(r"\[deskbridge:[0-9a-f]{12}\]")  # before markers named their link
TAIL = re.compile(
    r"(?:\s|<[^<>]*>|&nbsp;)*\Z"
)  # what a vendor may add after it: whitespace, closing markup


@cache
def link_tag(link: str) -> str:
    return hashlib.blake2b(link.encode(), digest_size=4).hexdigest()


def marker_for(link: str, entity: str, origin: str, origin_id: str) -> str:
    record = hashlib.blake2b(
        f"{link}|{entity}|{origin}|{origin_id}".encode(), digest_size=6
    ).hexdigest()
    target = "b" if origin == "a" else "a"
    return f"[deskbridge:{link_tag(link)}:{origin}2{target}:{record}]"


def trailing_marker(text: str | None) -> re.Match[str] | None:
    """The marker that ends ``text`` (followed only by whitespace or markup), if any."""
    last = None
    for last in MARKER.finditer(text or ""):  # noqa: B007 - the loop keeps the last match
        pass
    return last if last is not None and TAIL.match(text or "", last.end()) else None


def digest(text: str | None) -> str:
    """A short digest of a note's body: what the crosswalk remembers to see an edit."""
    return hashlib.blake2b((text or "").encode(), digest_size=8).hexdigest()


def own_marker(text: str | None, link: str, legacy: Container[str] = ()) -> str | None:
    """The marker ending ``text`` if ``link`` wrote it; ``legacy``: the link's old-style markers."""
    found = trailing_marker(text)
    if found is None:
        return None
    if found.group(1) is None:
        return found.group(0) if found.group(0) in legacy else None
    return found.group(0) if found.group(1) == link_tag(link) else None


class Stamps:
    """Where a link's own writes are on each side, found by the markers that end their text.

    ``rows``: the link's crosswalk rows, by marker (old-style markers count only through them).
    """

    def __init__(
        self,
        link: str,
        marked: Mapping[Side, Iterable[tuple[str, str, str, str]]],
        rows: dict[str, dict[str, Any]],
    ) -> None:
        """``marked``: (table, source id, ticket id, text) per side, oldest first, of records
        whose text may end with the link's marker (read by :func:`crosswalk.load_state`)."""
        self.link, self.marked, self.rows = link, marked, rows
        self._on: dict[Side, dict[str, list[tuple[str, str, str]]]] = {}

    def on(self, side: Side) -> dict[str, list[tuple[str, str, str]]]:
        """marker -> [(table, source id, ticket id)] of records on ``side`` it ends, oldest first.

        ``table`` is ``tickets`` for a ticket a field of which ends with the marker.
        """
        if side not in self._on:
            self._on[side] = self._read(side)
        return self._on[side]

    def _read(self, side: Side) -> dict[str, list[tuple[str, str, str]]]:
        out: dict[str, list[tuple[str, str, str]]] = {}
        for table, sid, ticket, text in self.marked[side]:
            texts = _strings(json.loads(text)) if table == "tickets" else [text]
            for marker in dict.fromkeys(own_marker(t, self.link, self.rows) for t in texts):
                if marker is not None and self.into(marker) == side:
                    out.setdefault(marker, []).append((table, sid, ticket))
        return out

    def _children(self, side: Side, marker: str) -> list[tuple[str, str, str]]:
        return [r for r in self.on(side).get(marker, []) if r[0] != "tickets"]

    def into(self, marker: str) -> Side | None:
        """The side a marker of this link was written into."""
        found = MARKER.fullmatch(marker)
        if found is not None and found.group(3):
            return found.group(3)  # type: ignore[return-value]
        row = self.rows.get(marker)
        return None if row is None else ("b" if row["origin"] == "a" else "a")

    def written(self, side: Side, marker: str, entity: str) -> str | None:
        """The record (a ticket id for tickets) that the write carrying ``marker`` made on ``side``."""
        records = self.on(side).get(marker)
        if not records:
            return None
        if entity == "tickets":
            return records[0][2]
        children = self._children(side, marker)
        same = [r for r in children if r[0] == entity] or children
        return same[0][1] if same else None

    def echo(self, side: Side, text: str | None, source_id: str, ticket_id: str) -> bool:
        """Whether this record on ``side`` is the link's own write (not a quote of one)."""
        marker = own_marker(text, self.link, self.rows)
        if marker is None or self.into(marker) != side:
            return False
        row = self.rows.get(marker)
        if row is not None and row[side] is not None:
            return row[side] == (ticket_id if row["entity"] == "tickets" else source_id)
        records = self._children(side, marker)
        return not records or records[0][1] == source_id  # pending: the first copy is the write

    def own_tickets(self, side: Side) -> dict[str, str]:
        """Tickets on ``side`` the link created, by ticket id -> marker (their opening text carries it)."""
        out = {}
        for marker, records in self.on(side).items():
            row = self.rows.get(marker)
            ticket = records[0][2]
            if row is None or (row["entity"] == "tickets" and row[side] in (None, ticket)):
                out[ticket] = marker
        return out


def _strings(value: Any) -> list[str]:
    """Every string in a vendor payload (``raw``), at any depth."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for v in value for s in _strings(v)] if isinstance(value, list) else []
