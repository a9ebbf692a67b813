"""Executing a push plan: intents first, writes concurrently, the crosswalk after each chunk.

Every write that creates something is recorded as a ``pending`` crosswalk row (with its
marker) before it is sent; once the vendor answers, the row becomes ``linked`` with the new id.
A crash in between leaves the row pending; the next plan looks for the marker in what the
target now holds and resumes that record instead of writing again. A create that takes several
requests reports the new id before its follow-ups (:class:`~deskbridge.sdk.contract.WriteContext`);
the id is committed at once (state ``created``) and a rerun resumes the follow-ups on it. A refused
write becomes a ``push_failures`` row with the vendor's reason and is retried next run; the rest go
on. Its pending row goes: a refusal (:data:`REFUSED`) means nothing landed. A write that may have
landed (a timeout, an answer we could not read) stays pending, to be checked next run.
A delete answered with "not found" is done: it landed before a crash, or someone did it by hand.

Phases run in order (bookkeeping, deletes, new tickets, ticket updates, then notes and time
entries), each in chunks written concurrently; a chunk's outcomes are recorded in bulk
(:mod:`deskbridge.push.crosswalk`) in one transaction.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import structlog

from deskbridge.config import LinkConfig, Settings
from deskbridge.pull.engine import build_connector
from deskbridge.push import crosswalk
from deskbridge.push.actions import CREATES, DELETES, OPS, Action, ActionKind
from deskbridge.push.crosswalk import PushStore
from deskbridge.push.fieldmap import field_keys, mapped_fields
from deskbridge.push.planner import plan
from deskbridge.push.sides import sides_for, vendors_of
from deskbridge.sdk.contract import Connector, Progress, WriteContext, WriteOp
from deskbridge.sdk.errors import (
    AuthError,
    DeskbridgeError,
    NotFound,
    PermissionDenied,
    UnmappedValueError,
    Unsupported,
    VendorRejected,
)
from deskbridge.sdk.redact import scrub
from deskbridge.warehouse.store import Warehouse, utcnow

log = structlog.get_logger("deskbridge.push")
K = ActionKind
BOOKKEEPING = (
    ActionKind.LINK,
    ActionKind.RELINK,
    ActionKind.SKIP,
    ActionKind.REBASE,
    ActionKind.REJECT,
    ActionKind.UNLINK,
)  # no write: the crosswalk only
PHASES = (
    BOOKKEEPING,
    tuple(DELETES),
    (ActionKind.CREATE_TICKET,),
    (ActionKind.UPDATE_TICKET,),
    (ActionKind.ADD_NOTE, ActionKind.ADD_TIME_ENTRY, ActionKind.UPDATE_NOTE),
)
REFUSED = (
    VendorRejected,
    NotFound,
    AuthError,
    PermissionDenied,
    UnmappedValueError,
    NotImplementedError,
)
TransportFor = Callable[[str], httpx.AsyncBaseTransport | None]


@dataclass
class PushResult:
    link: str
    push_id: int
    dry_run: bool
    actions: list[Action]
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # entity, id, reason
    mode: str = "sync"
    # per planned action (its :func:`label`): how many were done and how many failed
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # label, record id, reason
    limits: list[str] = field(default_factory=list)  # preflight checks that could not run fully

    def count(self, action: Action, outcome: str) -> None:
        self.outcomes.setdefault(label(action), Counter())[outcome] += 1

    @property
    def writes(self) -> int:
        return sum(
            v for k, v in self.counts.items() if k.endswith(".done") and k.split(".")[0] in OPS
        )


def plan_link(
    wh: Warehouse, settings: Settings, link: LinkConfig, only: set[str] | None = None
) -> list[Action]:
    """The link's plan, from its state as the warehouse holds it now."""
    sides = sides_for(link, vendors_of(settings, link))
    maps, _ = mapped_fields(link, sides.conn, sides.vendor)
    return plan(crosswalk.load_state(wh.con, link, field_keys(maps)), link, sides, only)


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
    """Plan the link and, unless ``dry_run``, carry the plan out.

    A push that raises (or is cancelled) ends ``failed`` in ``push_runs`` with its cause and
    the counts it reached, so status shows why, not a push forever ``running``.
    """
    result = PushResult(link.name, crosswalk.start_push(wh.con, link.name, dry_run), dry_run, [])
    result.mode = mode
    with recorded(wh, result):
        await _plan_and_run(
            wh, settings, link, result, only, transport_for, plan_file, chunk, progress
        )
    return result


@contextmanager
def recorded(wh: Warehouse, result: PushResult) -> Iterator[None]:
    """End ``result``'s push run: as it went, or ``failed`` with the cause of what it raised."""
    try:
        yield
    except BaseException as exc:
        cause = (
            "interrupted" if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt) else exc
        )
        with suppress(Exception):  # the warehouse may be what failed: the cause is raised anyway
            counts = {**result.counts, "mode": result.mode}
            error = scrub(cause if isinstance(cause, str) else f"{type(exc).__name__}: {exc}")
            crosswalk.finish_push(wh.con, result.push_id, "failed", counts, error)
        raise
    _finish(wh, result)


async def _plan_and_run(
    wh: Warehouse,
    settings: Settings,
    link: LinkConfig,
    result: PushResult,
    only: set[str] | None,
    transport_for: TransportFor,
    plan_file: Path | None,
    chunk: int,
    progress: Progress | None,
) -> None:
    actions = result.actions = plan_link(wh, settings, link, only)
    result.counts.update(f"{a.kind}.planned" for a in actions)
    if plan_file is not None:
        plan_file.parent.mkdir(parents=True, exist_ok=True)
        plan_file.write_text(json.dumps([a.to_json() for a in actions], default=str, indent=1))
    if not result.dry_run and actions:
        connectors = {
            side: build_connector(settings.connections[name], transport_for(name))
            for side, name in (("a", link.a), ("b", link.b))
        }
        try:
            await _Executor(wh, link, connectors, result, chunk, progress).run(actions)
        finally:
            for connector in connectors.values():
                await connector.aclose()


class _Executor:
    def __init__(
        self,
        wh: Warehouse,
        link: LinkConfig,
        connectors: dict[str, Connector],
        result: PushResult,
        chunk: int,
        progress: Progress | None,
    ) -> None:
        self.wh, self.link, self.connectors, self.result, self.chunk = (
            wh,
            link,
            connectors,
            result,
            chunk,
        )
        self.progress = progress or (lambda *_: None)
        self.store = PushStore(wh.con, link.name)

    async def run(self, actions: list[Action]) -> None:
        done = 0
        for kinds in PHASES:
            todo = [a for a in actions if a.kind in kinds]
            self._load_crosswalk()
            for start in range(0, len(todo), self.chunk):
                await self._chunk(todo[start : start + self.chunk])
                done += len(todo[start : start + self.chunk])
                self.progress(f"push {self.link.name}: {kinds[0]}", done, len(actions))

    async def _chunk(self, actions: list[Action]) -> None:
        self.outcomes: dict[str, list[dict[str, Any]]] = {
            "linked": [],
            "resolved": [],
            "failed": [],
            "skipped": [],
            "withdrawn": [],
        }
        ready = [a for a in actions if self._resolve_parent(a)]
        writes = [a for a in ready if a.kind in OPS]
        with self.wh.transaction():
            self.store.intents(self._row(a, None, "pending") for a in writes if a.kind in CREATES)
        outcomes = await asyncio.gather(*(self._write(a) for a in writes), return_exceptions=True)
        unexpected: BaseException | None = None
        for action in ready:
            if action.kind == K.REJECT:
                self._failed(action, action.reason)
            elif action.kind not in OPS:
                self._done(action, None)
        for action, outcome in zip(writes, outcomes, strict=True):
            if isinstance(outcome, NotFound) and action.kind in DELETES:
                # already gone: a delete that landed before a crash, or done by hand
                self._done(action, None)
            elif isinstance(outcome, Unsupported) and action.kind in (*DELETES, K.UPDATE_NOTE):
                # recorded once, never retried
                instead = K.REBASE if action.kind == K.UPDATE_NOTE else K.UNLINK
                self._done(replace(action, kind=instead, reason=scrub(str(outcome))), None, action)
            elif isinstance(outcome, DeskbridgeError | UnmappedValueError | NotImplementedError):
                self._failed(action, scrub(str(outcome)))
                if isinstance(outcome, REFUSED) and action.kind in CREATES:
                    self.outcomes["withdrawn"].append(self._row(action, None, "pending"))
            elif isinstance(outcome, BaseException):
                unexpected = unexpected or outcome
            else:
                self._done(action, outcome)
        now = utcnow()
        with self.wh.transaction():  # what went through is recorded even when something broke
            self.store.linked(self.outcomes["linked"], now)
            self.store.resolved(self.outcomes["resolved"], now)
            self.store.failed(self.outcomes["failed"], now)
            self.store.skipped(self.outcomes["skipped"], now)
            self.store.withdrawn(self.outcomes["withdrawn"])
        if unexpected is not None:
            raise unexpected

    def _load_crosswalk(self) -> None:
        """One read of the link's crosswalk per phase (creates of the last phase are in it).

        ``twins``: (side, ticket id) -> its twin's id, for linked tickets. ``keys``: (entity, side,
        id) -> the row's (origin, origin_id), whichever side a write starts from.
        """
        self.twins, self.keys = crosswalk.twins_and_keys(self.wh.con, self.link.name)

    def _resolve_parent(self, action: Action) -> bool:
        """Children need their ticket's twin, which may have been created a phase ago.

        A relink names its twin already: its ticket may be relinked in the same phase.
        """
        if action.parent is None or action.kind == K.RELINK:
            return True
        twin = self.twins.get((action.origin, action.parent))
        if twin is None:
            self._failed(action, f"ticket {action.parent} has no twin on side {action.target} yet")
            return False
        action.target_id = twin
        return True

    async def _write(self, action: Action) -> str | None:
        connector = self.connectors[action.target]
        payload = dict(action.payload)
        author = self.link.author.get(action.target)
        if author and action.kind == K.ADD_NOTE:
            payload.setdefault("author_id", author)
        elif author and action.kind == K.ADD_TIME_ENTRY:
            payload.setdefault("worker_id", author)
            payload.setdefault("created_by_id", author)
        if action.kind != K.CREATE_TICKET:
            return await connector.write(OPS[action.kind], action.target_id, payload)
        ctx = WriteContext(
            action.marker,
            resume=action.target_id,
            on_created=lambda new_id: self._created(action, new_id),
        )
        return await connector.write(WriteOp.CREATE_TICKET, None, payload, ctx)

    async def _created(self, action: Action, new_id: str) -> None:
        """Committed before the create's follow-up requests, so no rerun creates it again."""
        with self.wh.transaction():
            self.store.created(self._row(action, new_id, "created"))

    def _done(self, action: Action, outcome: str | None, planned: Action | None = None) -> None:
        """Record ``action`` done (``planned``: the action as planned, when it became another)."""
        self.result.counts[f"{action.kind}.done"] += 1
        self.result.count(planned or action, "done")
        if action.reason and action.kind in (K.SKIP, K.REBASE, K.UNLINK, K.CREATE_TICKET):
            self.outcomes["skipped"].append(
                {
                    "entity": action.entity,
                    "target": action.target,
                    "source_id": action.origin_id,
                    "reason": action.reason,
                }
            )
        if action.kind == K.SKIP:
            return  # nothing linked: the record stays where it is, with its reason
        self.outcomes["resolved"].append(
            {"entity": action.entity, "target": action.target, "source_id": action.origin_id}
        )
        twin = (
            outcome
            if action.kind in CREATES
            else action.target_id
            if action.kind in (K.LINK, K.RELINK)
            else None
        )
        state = "deleted" if action.kind in DELETES or action.kind == K.UNLINK else "linked"
        self.outcomes["linked"].append(self._row(action, twin, state))

    def _row(self, action: Action, twin: str | None, state: str) -> dict[str, Any]:
        """The crosswalk row of an action, keyed the way the row was first recorded."""
        origin, origin_id = self.keys.get(
            (action.entity, action.origin, action.origin_id), (action.origin, action.origin_id)
        )
        a_id, b_id = _ids(action, twin)
        return {
            "entity": action.entity,
            "origin": origin,
            "origin_id": origin_id,
            "a_id": a_id,
            "b_id": b_id,
            "state": state,
            "marker": action.marker,
            "base_a": action.base.get("a"),
            "base_b": action.base.get("b"),
        }

    def _failed(self, action: Action, reason: str) -> None:
        self.result.counts[f"{action.kind}.failed"] += 1
        self.result.count(action, "failed")
        self.result.failures.append((action.entity, action.origin_id, reason))
        self.result.failed.append((label(action), action.origin_id, reason))
        log.warning(
            "push.rejected",
            link=self.link.name,
            entity=action.entity,
            source_id=action.origin_id,
            reason=reason,
        )
        self.outcomes["failed"].append(
            {
                "entity": action.entity,
                "target": action.target,
                "source_id": action.origin_id,
                "op": action.kind,
                "reason": reason,
            }
        )


def _ids(action: Action, twin: str | None) -> tuple[str | None, str | None]:
    return (action.origin_id, twin) if action.origin == "a" else (twin, action.origin_id)


def _finish(wh: Warehouse, result: PushResult) -> None:
    status = "partial" if result.failures else "success"
    crosswalk.finish_push(wh.con, result.push_id, status, {**result.counts, "mode": result.mode})


def label(action: Action) -> str:
    """How the plan and the "did" table name an action: kind, entity and target side."""
    return f"{action.kind} {action.entity} -> {action.target}"


def plan_summary(actions: list[Action]) -> dict[str, int]:
    return dict(Counter(label(a) for a in actions))
