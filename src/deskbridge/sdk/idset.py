"""A set of record ids at one bit each: what a run has walked, listed or paged stays small.

Helpdesks number tickets with an auto-increment integer, so the ids a run has seen fit a bitmap
as long as the highest id: ~125 KB at a million tickets, where a set of the id strings takes
~90 MB (it grew every full sync's memory with the helpdesk). An id that is not a plain decimal
number below :data:`BITS` goes into an ordinary set, so membership stays exact.
"""

from __future__ import annotations

from collections.abc import Iterable

BITS = 1 << 28  # the bitmap stops at 32 MB; ids above it are kept as strings


class IdSet:
    """``add``, ``update``, ``in`` and ``len`` of a set of id strings, one bit per numeric id."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self.bits = bytearray()
        self.other: set[str] = set()
        self.count = 0  # numeric ids held
        self.update(ids)

    def __len__(self) -> int:
        return self.count + len(self.other)

    def isdisjoint(self, ids: Iterable[str]) -> bool:
        return not any(i in self for i in ids)

    def add(self, record_id: str) -> None:
        n = id_number(record_id)
        if n is None:
            self.other.add(record_id)
            return
        if n >> 3 >= len(self.bits):  # grow by doubling: appends stay cheap
            self.bits.extend(bytes(max((n >> 3) + 1 - len(self.bits), len(self.bits))))
        bit = 1 << (n & 7)
        if not self.bits[n >> 3] & bit:
            self.bits[n >> 3] |= bit
            self.count += 1

    def update(self, ids: Iterable[str]) -> None:
        for record_id in ids:
            self.add(record_id)

    def __contains__(self, record_id: object) -> bool:
        n = id_number(record_id) if isinstance(record_id, str) else None
        if n is None:
            return record_id in self.other
        return n >> 3 < len(self.bits) and bool(self.bits[n >> 3] >> (n & 7) & 1)


def id_number(record_id: str) -> int | None:
    """The id as a number below :data:`BITS`, if it is written as one: ASCII digits without a
    leading zero ("7" and "07" stay distinct ids); otherwise None."""
    if not (record_id.isascii() and record_id.isdigit()) or len(record_id) > 9:
        return None
    if record_id[0] == "0" and record_id != "0":
        return None
    n = int(record_id)
    return n if n < BITS else None
