"""The id set a run keeps of what it walked, listed and paged: exact, and small."""

from __future__ import annotations

from deskbridge.sdk.idset import BITS, IdSet


def test_membership_is_exact_for_every_kind_of_id() -> None:
    """Numeric ids take a bit; ids a bit could confuse ("07", non-ASCII digits, huge) stay strings."""
    kept = ["0", "1", "7", "4096", "07", "abc", "١٢", str(BITS), "12345678901", ""]
    ids = IdSet(kept)
    assert [k in ids for k in kept] == [True] * len(kept)
    absent = ["2", "8", "4095", "4097", "007", "7 ", "٧", str(BITS + 1), "12", "-1", "1.0"]
    assert [a in ids for a in absent] == [False] * len(absent)
    assert 7 not in ids  # only strings are ids
    assert ids.other == {"07", "abc", "١٢", str(BITS), "12345678901", ""}
    assert len(IdSet([*kept, *kept])) == len(kept)  # an id added twice counts once
    assert ids.isdisjoint(absent) and not ids.isdisjoint(["2", "4096"])


def test_a_million_sequential_ids_take_a_bit_each() -> None:
    """A million ids from 1 fit in about a bit each (the bitmap at most doubles), all kept."""
    ids = IdSet(str(n) for n in range(1, 1_000_001))
    assert len(ids.bits) <= 2 * 1_000_001 // 8 + 1 and not ids.other
    assert "1000000" in ids and "1000001" not in ids
