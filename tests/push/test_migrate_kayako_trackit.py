"""Kayako -> Track-It migration: everything lands, by sequence id under renamed display names."""

from __future__ import annotations

import re
from pathlib import Path

from pushkit import make_pair

from deskbridge.push.migrate import migrate, migration_link
from deskbridge.sdk import mappings

MARK = re.compile(r"\[deskbridge:[0-9a-f:]+\]")


async def test_kayako_to_trackit_migration_lands_everything_once(tmp_path: Path) -> None:
    """Every ticket, note and time entry arrives, checked field by field; a second run changes nothing."""
    pair = make_pair(tmp_path, ("kayako", 12), ("trackit", 3), direction="a_to_b")
    trackit = pair.emulators["b_side"]
    trackit.rename_field(22, "Short Description")  # the summary field, renamed by this installation
    trackit.rename_field(96, "Ticket State")
    try:
        link = migration_link(pair.settings, "a_side", "b_side", None)
        result, report = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        assert result.failures == [], result.failures[:3]
        source = pair.emulators["a_side"].ground_truth()
        target = trackit.ground_truth()
        twins = dict(
            pair.wh.con.execute(
                "SELECT a_id, b_id FROM crosswalk WHERE entity = 'tickets' AND state = 'linked'"
            ).fetchall()
        )
        assert set(twins) == set(source["tickets"])
        kayako, tracks = (
            mappings.load("kayako").values("status"),
            mappings.load("trackit").values("status"),
        )
        for a_id, b_id in twins.items():
            mine, theirs = source["tickets"][a_id], target["tickets"][b_id]
            assert theirs["subject"] == mine["subject"]
            assert tracks.to_canonical(theirs["status"]) == kayako.to_canonical(
                mine["status"], "open"
            )
        landed = [m for n in target["notes"].values() for m in MARK.findall(n["body"])]
        assert len(landed) == len(set(landed))  # nothing twice
        assert len(landed) >= len(source["notes"]) + len(source["time_entries"])
        seconds = sorted(
            e["seconds_worked"] for e in target["time_entries"].values() if e["seconds_worked"]
        )
        for entry in source["time_entries"].values():
            if entry["seconds_worked"]:
                assert entry["seconds_worked"] in seconds
        assert report.rows["tickets"]["migrated"] == 12
        again, _ = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        assert again.actions == []
    finally:
        pair.wh.close()
