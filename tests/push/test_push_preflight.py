"""Preflight in-process over emulators: limited checks, status maps, and the "did" table."""

from __future__ import annotations

from pathlib import Path

import pytest
from pushkit import make_pair
from rich.console import Console

from deskbridge import registry
from deskbridge.cli.push import print_push
from deskbridge.config import LinkConfig, check_link
from deskbridge.push.preflight import preflight, unknown_statuses
from deskbridge.sdk import mappings
from deskbridge.sdk.errors import ConfigError
from deskbridge.sdk.mappings import ValueMap


async def test_an_unpulled_target_limits_the_check_and_says_how_to_enable_it(
    tmp_path: Path,
) -> None:
    """Nothing pulled yet: forms only, no problem, and the command that enables the full check."""
    pair = make_pair(
        tmp_path,
        ("kayako", 2),
        ("whmcs", 2),
        direction="a_to_b",
        author={"b": "admin:77"},
        defaults={"b": {"department": "Nowhere"}},
    )
    try:
        report = preflight(pair.wh, pair.settings, pair.link)
        assert (report.problems, report.limits) == (
            [],
            [
                "links.pair: b_side has not been pulled yet, so people, departments and statuses "
                "were checked only by form; run `deskbridge sync b_side` to check them"
            ],
        )
        await pair.cycle(dry_run=True)  # pulls both sides
        pulled = preflight(pair.wh, pair.settings, pair.link)
        assert [line.split(";")[0] for line in pulled.problems] == [
            "links.pair.author.b: 'admin:77' is not a whmcs staff of b_side",
            "links.pair.defaults.b.department: 'Nowhere' is not a whmcs department",
        ]
        assert pulled.limits == []
    finally:
        pair.wh.close()


def test_a_value_map_writing_a_status_the_target_lacks_is_named() -> None:
    """A map that writes 'Escalated' for pending, on a target whose tickets and vocabulary lack it."""
    kayako = mappings.load("kayako").values("status")
    custom = ValueMap(
        "whmcs status",
        {"Open": "open", "Escalated": "pending", "Solved": "resolved", "Closed": "closed"},
    )
    known = {"Open", "Closed", "Answered", "On Hold", "Customer-Reply", "In Progress"}
    assert unknown_statuses(kayako, custom, known) == [
        ("Escalated", "pending"),
        ("Solved", "resolved"),
    ]
    assert unknown_statuses(kayako, custom, None) == []  # nothing pulled: no verdict
    shipped = mappings.load("whmcs").values("status")
    assert unknown_statuses(kayako, shipped, known) == []


async def test_the_did_table_shows_a_failed_action_as_failed(tmp_path: Path) -> None:
    """One create refused by the target (an injected 401): its row says so, with the error line."""
    pair = make_pair(
        tmp_path, ("kayako", 3), ("kayako", 1), direction="a_to_b", entities=["tickets"]
    )
    try:
        await pair.cycle(dry_run=True)  # pull both sides first, so the fault hits a write
        pair.emulators["b_side"].inject("401")
        result = await pair.cycle(pull=False)
        console = Console(record=True, width=200)
        print_push(console, result, None)
        lines = [line.rstrip() for line in console.export_text().splitlines()]
        (failed,) = result.failed
        assert failed[0] == "create_ticket tickets -> b"
        assert lines[-1] == f"failed create_ticket tickets -> b {failed[1]}: {failed[2]}"
        row = next(line for line in lines if "create_ticket tickets -> b" in line)
        assert row.split("│")[1:-1] == [
            " create_ticket tickets -> b ",
            "       3 ",
            "    2 ",
            "      1 ",
            " partly failed ",
        ]
        assert len(pair.emulators["b_side"].ground_truth()["tickets"]) == 1 + 2
    finally:
        pair.wh.close()


def test_config_load_names_a_filter_value_no_ticket_can_have() -> None:
    """A typo in a canonical filter would hold every ticket back: refused at load, with the values."""
    link = LinkConfig.model_validate(
        {"name": "pair", "a": "x", "b": "y", "filters": {"status_category": ["open", "opne"]}}
    )
    vendors = {"a": "kayako", "b": "trackit"}
    classes = {side: registry.get(v).connector_class() for side, v in vendors.items()}
    with pytest.raises(ConfigError) as refused:
        check_link(link, classes, vendors)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "links.pair.filters.status_category: 'opne' is not a canonical status_category; "
        "known: new, open, pending, resolved, closed"
    )
