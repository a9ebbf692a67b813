"""Two (or more) sandboxes in-process, a Settings naming them, and a link between them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deskbridge import registry
from deskbridge.config import LinkConfig, Settings, check_link
from deskbridge.pull.engine import build_connector
from deskbridge.push.executor import PushResult
from deskbridge.push.run import run_link
from deskbridge.sandbox import build_emulator, sandbox_connection
from deskbridge.sdk import mappings
from deskbridge.sdk.emulator import Emulator
from deskbridge.warehouse.lake import LakeSpec, LakeWarehouse
from deskbridge.warehouse.store import Warehouse

FAST = {"retries": 3, "retry_backoff_s": 0.01}
EAGER = {"kayako": {"closed_reconcile_every": "0s"}, "trackit": {"closed_reconcile_every": "0s"}}


@dataclass
class Pair:
    emulators: dict[str, Emulator]
    settings: Settings
    link: LinkConfig
    wh: Warehouse

    def transport(self, name: str) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.emulators[name].app)

    async def cycle(self, **kwargs: Any) -> PushResult:
        return await run_link(
            self.wh, self.settings, self.link, transport_for=self.transport, **kwargs
        )

    async def write(
        self, name: str, op: Any, ticket_id: str | None, payload: dict[str, Any]
    ) -> str | None:
        async with build_connector(
            self.settings.connections[name], self.transport(name)
        ) as connector:
            return await connector.write(op, ticket_id, payload)


def make_pair(
    tmp_path: Path,
    a: tuple[str, int],
    b: tuple[str, int],
    seeds: tuple[int, int] = (7, 8),
    lake: LakeSpec | None = None,
    **link: Any,
) -> Pair:
    emulators, connections = {}, {}
    for name, (vendor, tickets), seed in (("a_side", a, seeds[0]), ("b_side", b, seeds[1])):
        emu = build_emulator(vendor, tickets=tickets, seed=seed)
        emulators[name] = emu
        connections[name] = sandbox_connection(
            emu, "http://testserver", name=name, options=EAGER.get(vendor, {}), **FAST
        )
    config = LinkConfig.model_validate({"name": "pair", "a": "a_side", "b": "b_side", **link})
    vendors = {"a": a[0], "b": b[0]}
    check_link(config, {s: registry.get(v).connector_class() for s, v in vendors.items()}, vendors)  # type: ignore[misc]
    settings = Settings(connections=connections, links={"pair": config})
    wh = LakeWarehouse(lake) if lake else Warehouse(tmp_path / "push.duckdb")
    return Pair(emulators, settings, config, wh)


def labels(pair: Pair, name: str, column: str) -> list[str]:
    rows = pair.wh.con.execute(
        f"SELECT DISTINCT {column} FROM tickets WHERE connection = ? AND {column} IS NOT NULL ORDER BY 1",
        [name],
    ).fetchall()
    return [r[0] for r in rows]


def linked_pairs(pair: Pair) -> list[tuple[str, str]]:
    return pair.wh.con.execute(
        "SELECT a_id, b_id FROM crosswalk WHERE link = ? AND entity = 'tickets' AND state = 'linked'",
        [pair.link.name],
    ).fetchall()


def disagreements(pair: Pair) -> list[str]:
    """Linked tickets whose synced fields differ in canonical terms, both sides live.

    A value one side's vocabulary cannot hold is written as its nearest label (WHMCS has no
    urgent priority: ``[priority_write] urgent = "High"``); such a pair agrees as far as it can.
    """
    rows = pair.wh.con.execute(
        """SELECT x.a_id, x.b_id, a.subject, b.subject, a.status_category, b.status_category,
                  a.priority_level, b.priority_level
           FROM crosswalk x
           JOIN tickets a ON a.connection = ? AND a.source_id = x.a_id AND a.deleted_at IS NULL
           JOIN tickets b ON b.connection = ? AND b.source_id = x.b_id AND b.deleted_at IS NULL
           WHERE x.link = ? AND x.entity = 'tickets'""",
        [pair.link.a, pair.link.b, pair.link.name],
    ).fetchall()
    vendors = [pair.settings.connections[n].type for n in (pair.link.a, pair.link.b)]
    return [
        f"{r[0]}~{r[1]}: {r[2:]}"
        for r in rows
        if r[2] != r[3]
        or not _agree(vendors, "status", r[4], r[5])
        or not _agree(vendors, "priority", r[6], r[7])
    ]


def _agree(vendors: list[str], name: str, a: str | None, b: str | None) -> bool:
    """``a`` and ``b`` are equal, or one is the other as the other's side can hold it."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    held = [mappings.load(v).values(name) for v in vendors]
    return held[0].to_canonical(held[0].to_vendor(b)) == a or (
        held[1].to_canonical(held[1].to_vendor(a)) == b
    )
