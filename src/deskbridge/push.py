"""Executing a push plan: intents first, writes concurrently, the crosswalk after each chunk.

Every write that creates something is recorded as a ``pending`` crosswalk row (with its
marker) before it is sent; once the vendor answers, the row becomes ``linked`` with the new id.
A crash in between leaves the row pending; the next plan looks for the marker in what the
target now holds and links it instead of writing again. A refused write becomes a
``push_failures`` row with the vendor's reason and is retried next run; the rest go on.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import structlog

from .config import Settings
from .contract import Connector, Progress, WriteOp
from .engine import build_connector
from .errors import DeskbridgeError, UnmappedValueError
from .links import LinkConfig, Side
from .plan import Action, Planner, sides_for
from .redact import scrub
from .warehouse import Warehouse, utcnow

log = structlog.get_logger("deskbridge.push")
OPS = {"create_ticket": WriteOp.CREATE_TICKET, "update_ticket": WriteOp.UPDATE_FIELDS,
       "add_note": WriteOp.ADD_NOTE, "add_time_entry": WriteOp.ADD_TIME_ENTRY}  # fmt: skip
PHASES = (("link", "relink", "skip", "rebase", "reject"), ("create_ticket",), ("update_ticket",), ("add_note", "add_time_entry"))
TransportFor = Callable[[str], httpx.AsyncBaseTransport | None]


@dataclass
class PushResult:
    link: str
    push_id: int
    dry_run: bool
    actions: list[Action]
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (entity, source id, reason)
    mode: str = "sync"

    @property
    def writes(self) -> int:
        return sum(v for k, v in self.counts.items() if k.endswith(".done") and not k.startswith(("link", "relink", "skip")))


def plan_link(wh: Warehouse, settings: Settings, link: LinkConfig, only: set[str] | None = None) -> list[Action]:
    vendors = _vendors(settings, link)
    return Planner(wh.con, link, sides_for(link, vendors)).plan(only)


def _vendors(settings: Settings, link: LinkConfig) -> dict[Side, str]:
    return {"a": settings.connections[link.a].type, "b": settings.connections[link.b].type}


async def push_link(
    wh: Warehouse,
    settings: Settings,
    link: LinkConfig,
    *,
    dry_run: bool = False,
    only: set[str] | None = None,
    transport_for: TransportFor = lambda name: None,
    plan_file: Path | None = None,
    chunk: int = 50,
    progress: Progress | None = None,
    mode: str = "sync",
) -> PushResult:
    """Plan the link and, unless ``dry_run``, carry the plan out."""
    push_id = _start(wh, link.name, dry_run)
    actions = plan_link(wh, settings, link, only)
    result = PushResult(link.name, push_id, dry_run, actions, mode=mode)
    result.counts.update(f"{a.kind}.planned" for a in actions)
    if plan_file is not None:
        plan_file.parent.mkdir(parents=True, exist_ok=True)
        plan_file.write_text(json.dumps([a.to_json() for a in actions], default=str, indent=1))
    if not dry_run and actions:
        connectors = {
            side: build_connector(settings.connections[name], transport_for(name))
            for side, name in (("a", link.a), ("b", link.b))
        }
        try:
            await _Executor(wh, link, connectors, result, chunk, progress).run(actions)
        finally:
            for connector in connectors.values():
                await connector.aclose()
    _finish(wh, result)
    return result


class _Executor:
    def __init__(self, wh: Warehouse, link: LinkConfig, connectors: dict[str, Connector], result: PushResult,
                 chunk: int, progress: Progress | None) -> None:  # fmt: skip
        self.wh, self.link, self.connectors, self.result, self.chunk = wh, link, connectors, result, chunk
        self.progress = progress or (lambda *_: None)

    async def run(self, actions: list[Action]) -> None:
        done = 0
        for kinds in PHASES:
            todo = [a for a in actions if a.kind in kinds]
            self.twins = self._ticket_twins()
            self.keys = self._row_keys()
            for start in range(0, len(todo), self.chunk):
                await self._chunk(todo[start : start + self.chunk])
                done += len(todo[start : start + self.chunk])
                self.progress(f"push {self.link.name}: {kinds[0]}", done, len(actions))

    async def _chunk(self, actions: list[Action]) -> None:
        ready = [a for a in actions if self._resolve_parent(a)]
        writes = [a for a in ready if a.kind in OPS]
        self._record_intents([a for a in writes if a.kind != "update_ticket"])
        outcomes = await asyncio.gather(*(self._write(a) for a in writes), return_exceptions=True)
        with _transaction(self.wh):
            for action in ready:
                if action.kind == "reject":
                    self._failed(action, action.reason)
                elif action.kind not in OPS:
                    self._done(action, action.target_id)
            for action, outcome in zip(writes, outcomes, strict=True):
                if isinstance(outcome, DeskbridgeError | UnmappedValueError | NotImplementedError):
                    self._failed(action, scrub(str(outcome)))
                elif isinstance(outcome, BaseException):
                    raise outcome
                else:
                    self._done(action, outcome)

    def _ticket_twins(self) -> dict[tuple[str, str], str]:
        """(side, ticket id) -> its twin's id, for every linked ticket of the link."""
        rows = self.wh.con.execute(
            "SELECT a_id, b_id FROM crosswalk WHERE link = ? AND entity = 'tickets' AND state = 'linked'", [self.link.name]
        ).fetchall()
        return {**{("a", a): b for a, b in rows}, **{("b", b): a for a, b in rows}}

    def _row_keys(self) -> dict[tuple[str, str, str], tuple[str, str]]:
        """(entity, side, id) -> the crosswalk row's (origin, origin_id), whichever side a write starts from."""
        rows = self.wh.con.execute(
            "SELECT entity, origin, origin_id, a_id, b_id FROM crosswalk WHERE link = ?", [self.link.name]
        ).fetchall()
        keys: dict[tuple[str, str, str], tuple[str, str]] = {}
        for entity, origin, origin_id, a_id, b_id in rows:
            for side, sid in (("a", a_id), ("b", b_id)):
                if sid is not None:
                    keys[(entity, side, sid)] = (origin, origin_id)
        return keys

    def _resolve_parent(self, action: Action) -> bool:
        """Children need their ticket's twin, which may have been created a phase ago."""
        if action.parent is None:
            return True
        twin = self.twins.get((action.origin, action.parent))
        if twin is None:
            self._failed(action, f"ticket {action.parent} has no twin on side {action.target} yet")
            return False
        action.target_id = action.target_id if action.kind == "relink" else twin
        return True

    async def _write(self, action: Action) -> str | None:
        connector = self.connectors[action.target]
        payload = dict(action.payload)
        author = self.link.author.get(action.target)  # type: ignore[call-overload]
        if author and action.kind == "add_note":
            payload.setdefault("author_id", author)
        elif author and action.kind == "add_time_entry":
            payload.setdefault("worker_id", author)
            payload.setdefault("created_by_id", author)
        ticket = action.target_id if action.kind != "create_ticket" else None
        return await connector.write(OPS[action.kind], ticket, payload)

    def _record_intents(self, actions: list[Action]) -> None:
        if not actions:
            return
        with _transaction(self.wh):
            self.wh.con.executemany(
                "INSERT OR IGNORE INTO crosswalk (link, entity, origin, origin_id, a_id, b_id, state, marker) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                [[self.link.name, a.entity, a.origin, a.origin_id, *_ids(a, None), a.marker] for a in actions],
            )

    def _done(self, action: Action, target_id: str | None) -> None:
        counts = self.result.counts
        counts[f"{action.kind}.done"] += 1
        if action.kind == "skip":
            self.wh.con.execute(
                "INSERT OR REPLACE INTO push_skips VALUES (?, ?, ?, ?, ?, ?)",
                [self.link.name, action.entity, action.target, action.origin_id, action.reason, utcnow()],
            )
            return
        twin = target_id if action.kind not in ("update_ticket", "rebase") else action.target_id
        a_id, b_id = _ids(action, twin)
        self.wh.con.execute(
            "INSERT INTO crosswalk (link, entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b, pushed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'linked', ?, ?, ?, ?) ON CONFLICT DO UPDATE SET a_id = excluded.a_id, "
            "b_id = excluded.b_id, state = 'linked', "
            "base_a = json_merge_patch(coalesce(crosswalk.base_a, '{}'), coalesce(excluded.base_a, '{}')), "
            "base_b = json_merge_patch(coalesce(crosswalk.base_b, '{}'), coalesce(excluded.base_b, '{}')), "
            "pushed_at = excluded.pushed_at",
            [self.link.name, action.entity, *self.keys.get((action.entity, action.origin, action.origin_id), (action.origin, action.origin_id)), a_id, b_id, action.marker,
             _base(action, "a"), _base(action, "b"), utcnow()],  # fmt: skip
        )
        self.wh.con.execute(
            "UPDATE push_failures SET resolved_at = ? WHERE link = ? AND entity = ? AND source_id = ? AND resolved_at IS NULL",
            [utcnow(), self.link.name, action.entity, action.origin_id],
        )

    def _failed(self, action: Action, reason: str) -> None:
        self.result.counts[f"{action.kind}.failed"] += 1
        self.result.failures.append((action.entity, action.origin_id, reason))
        log.warning("push.rejected", link=self.link.name, entity=action.entity, source_id=action.origin_id, reason=reason)
        now = utcnow()
        self.wh.con.execute(
            "INSERT INTO push_failures VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, NULL) ON CONFLICT DO UPDATE SET "
            "op = excluded.op, reason = excluded.reason, attempts = push_failures.attempts + 1, "
            "last_failed_at = excluded.last_failed_at, resolved_at = NULL",
            [self.link.name, action.entity, action.target, action.origin_id, action.kind, reason, now, now],
        )


def _ids(action: Action, twin: str | None) -> tuple[str | None, str | None]:
    return (action.origin_id, twin) if action.origin == "a" else (twin, action.origin_id)


def _base(action: Action, side: str) -> str | None:
    value = action.base.get(side)
    return json.dumps(value, default=str) if value is not None else None


class _transaction:
    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh

    def __enter__(self) -> None:
        self.wh.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.wh.con.execute("ROLLBACK" if exc_type else "COMMIT")


def _start(wh: Warehouse, link: str, dry_run: bool) -> int:
    (push_id,) = wh.con.execute("SELECT coalesce(max(push_id), 0) + 1 FROM push_runs").fetchone()  # type: ignore[misc]
    wh.con.execute(
        "INSERT INTO push_runs (push_id, link, started_at, status, dry_run, counts) VALUES (?, ?, ?, 'running', ?, '{}')",
        [push_id, link, utcnow(), dry_run],
    )
    return int(push_id)


def _finish(wh: Warehouse, result: PushResult) -> None:
    status = "partial" if result.failures else "success"
    wh.con.execute(
        "UPDATE push_runs SET ended_at = ?, status = ?, counts = ? WHERE push_id = ?",
        [utcnow(), status, json.dumps({**result.counts, "mode": result.mode}), result.push_id],
    )


def plan_summary(actions: list[Action]) -> dict[str, int]:
    return dict(Counter(f"{a.kind} {a.entity} -> {a.target}" for a in actions))

