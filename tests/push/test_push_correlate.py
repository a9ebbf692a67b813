"""``correlate`` on a two-way link: each pair of existing twins is linked once, not once per direction."""

from __future__ import annotations

from pathlib import Path

from pushkit import make_pair


async def test_two_way_correlate_links_each_pair_once(tmp_path: Path) -> None:
    """Two helpdesks seeded alike: every ticket finds its twin by subject; one crosswalk row per pair."""
    pair = make_pair(
        tmp_path,
        ("kayako", 6),
        ("kayako", 6),
        seeds=(7, 7),
        author={"a": "staff:1", "b": "staff:1"},
        correlate="subject",
    )
    try:
        first = await pair.cycle()
        rows = pair.wh.con.execute(
            "SELECT a_id, b_id, origin, state FROM crosswalk WHERE link = 'pair' AND entity = 'tickets' ORDER BY a_id"
        ).fetchall()
        subjects = pair.wh.con.execute(
            "SELECT source_id, subject FROM tickets WHERE connection = 'a_side' AND deleted_at IS NULL ORDER BY 1"
        ).fetchall()
        twins = pair.wh.con.execute(
            """SELECT a.source_id, b.source_id FROM tickets a JOIN tickets b
               ON a.subject = b.subject AND a.connection = 'a_side' AND b.connection = 'b_side'
               WHERE a.deleted_at IS NULL AND b.deleted_at IS NULL ORDER BY 1"""
        ).fetchall()
        assert len(subjects) == 6 and len(twins) == 6  # the seeds are alike, subjects unique
        assert [(a, b, "linked") for a, b in twins] == [(r[0], r[1], r[3]) for r in rows]
        assert sum(1 for a in first.actions if a.kind.name == "CREATE_TICKET") == 0
        again = await pair.cycle()
        assert again.actions == []
    finally:
        pair.wh.close()
