"""People in Track-It! exist for deskbridge only as tickets and notes name them.

The WebApi has no technician or requestor listing, so people rows come from the tickets and
notes the reader sees. A person is written once per run (again only if their details change),
and once a run has read every live ticket, stored people that nothing names any more are gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deskbridge.sdk import WarehouseView

Row = dict[str, Any]


class PeopleTracker:
    def __init__(self, stored: set[str] | None = None) -> None:
        self.stored = stored or set()  # people ids the warehouse holds
        self.named_ids: set[str] = set()
        self.emitted: dict[str, Row] = {}
        self.pending: list[Row] = []

    def named(self, people: Iterable[Row], *, emit_new: bool = False) -> None:
        """Note that ``people`` are referenced; with ``emit_new``, write the ones never stored."""
        for person in people:
            self.named_ids.add(person["source_id"])
            if (
                emit_new
                and person["source_id"] not in self.stored
                and person["source_id"] not in self.emitted
            ):
                self._write(person)

    def emit(self, people: Iterable[Row]) -> None:
        """Write ``people`` as a changed ticket shows them, unless already written the same this run."""
        for person in people:
            self.named_ids.add(person["source_id"])
            if self.emitted.get(person["source_id"]) != person:
                self._write(person)

    def _write(self, person: Row) -> None:
        self.emitted[person["source_id"]] = person
        self.pending.append(person)

    def drain(self) -> list[Row]:
        rows, self.pending = self.pending, []
        return rows

    def orphans(self, warehouse: WarehouseView, rewritten_tickets: set[str]) -> list[str]:
        """Stored people no ticket read this run names, and no stored note of another ticket does.

        Notes of ``rewritten_tickets`` (re-read or deleted this run) are left out of the
        stored-note check: their current authors are already in ``named_ids``.
        """
        gone = []
        skip = sorted(rewritten_tickets)
        for person in sorted(self.stored - self.named_ids - set(self.emitted)):
            notes = set(warehouse.ids("notes", author_id=person))
            if notes and skip:
                notes -= set(warehouse.ids("notes", author_id=person, ticket_id=skip))
            if not notes:
                gone.append(person)
        return gone
