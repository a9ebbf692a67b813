"""Paging a vendor listing by offset while it changes, and the state of a watermark walk.

Kayako (``ListAll``), Omnidesk (``GET ticket``) and WHMCS (``GetTickets``) list tickets by
offset and size only. The listing keeps changing while it is read: a ticket deleted above the
offset shifts every later ticket up a row, so a plain ``start += size`` would skip one. The
:class:`OffsetPager` therefore overlaps consecutive pages, hands out each record once, and
steps back when a page shares no record with what it has already read. A vendor supplies only
``fetch(start, size)``; its quirks (what offset means, where the total comes from) stay there.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from deskbridge.sdk.errors import PayloadError
from deskbridge.sdk.idset import IdSet

Record = dict[str, Any]
P = TypeVar("P")
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class OffsetPage:
    """What the vendor answered for one offset: its records and, where it says, the total."""

    records: Sequence[Record]
    total: int | None = None


@dataclass(frozen=True)
class Listed:
    """One page as the pager hands it out: only records not handed out before in this listing.

    ``last`` is true on the final page; ``total`` is the vendor's count, as the page said it.
    """

    records: list[Record]
    last: bool
    total: int | None = None


FetchPage = Callable[[int, int], Awaitable[OffsetPage]]


class OffsetPager:
    """Overlapping offset pages, each record handed out once, with loop detection.

    ``fetch(start, size)`` reads one page; ``key`` names a record (its id). Consecutive pages
    overlap by ``size // 20`` rows (at least one), so up to that many rows shifting up between
    two requests lose nothing. When a page shares no record with those already read, more rows
    shifted than the overlap covers: the pager steps back half a page, at most
    ``max_step_backs`` times per listing. The listing ends on a short page, or when the page
    reaches the vendor's total. A vendor that repeats itself (a page it already gave, at another
    offset or after a step back) raises :class:`PayloadError`, as does one that keeps shifting.
    Accepted pages move the offset forward, so a listing always ends. Iterate it once per listing.

    ``expect`` (a count the vendor gave elsewhere, e.g. a count cache) lets up to ``ahead`` of the
    next full pages' offsets below it be requested while earlier pages are still out. Each page
    is still checked against the pages before it, in listing order, exactly as one read after
    the other (which of two pages was read first does not change what the overlap proves), and
    a step back drops the pages requested ahead. Past ``expect`` the pages go one at a time: a
    count that is off costs requests (a high one up to ``ahead`` empty pages), never a record.
    """

    def __init__(
        self,
        fetch: FetchPage,
        size: int,
        key: Callable[[Record], str],
        *,
        vendor: str,
        resource: str = "tickets",
        max_step_backs: int = 20,
        expect: int | None = None,
        ahead: int = 0,
    ) -> None:
        if size < 2:
            raise ValueError("pages that overlap need at least two rows")
        self.fetch, self.size, self.key = fetch, size, key
        self.overlap = max(1, size // 20)
        self.vendor, self.resource, self.max_step_backs = vendor, resource, max_step_backs
        self.expect, self.ahead = expect, ahead

    async def __aiter__(self) -> AsyncGenerator[Listed, None]:
        ahead = _Ahead(self)
        try:
            async for listed in self._pages(ahead):
                yield listed
        finally:
            await ahead.drop()

    async def _pages(self, ahead: _Ahead) -> AsyncGenerator[Listed, None]:
        # What a listing has handed out, kept small: it grew a full sync's memory with the helpdesk.
        seen = IdSet()
        answers: set[bytes] = set()  # a digest of each page's ids
        start, step_backs = 0, 0
        while True:
            page = await ahead.page(start)
            ids = [self.key(r) for r in page.records]
            if start > 0 and seen and seen.isdisjoint(ids):
                step_backs += 1  # rows shifted up past the overlap: look again, earlier
                if step_backs > self.max_step_backs:
                    raise self._error("keeps shifting under the paginator")
                start = max(0, start - self.size // 2)
                await ahead.drop()  # requested for offsets this listing no longer reads
                continue
            answer = hashlib.blake2b(orjson.dumps(ids), digest_size=16).digest()
            if ids and answer in answers:
                raise self._error(f"repeats itself: offset {start} gave a page already read")
            answers.add(answer)
            fresh = self._fresh(page.records, ids, seen)
            last = self._last(start, page)
            yield Listed(fresh, last, page.total)
            if last:
                return
            start += len(ids) - self.overlap

    async def records(self, limit: int | None = None) -> list[Record]:
        """Every record of the listing (or its first ``limit``), each once, in listing order."""
        out: list[Record] = []
        async with aclosing(self.__aiter__()) as pages:
            async for page in pages:
                out += page.records
                if limit is not None and len(out) >= limit:
                    return out[:limit]
        return out

    def _last(self, start: int, page: OffsetPage) -> bool:
        if len(page.records) < self.size:
            return True
        return page.total is not None and start + len(page.records) >= page.total

    @staticmethod
    def _fresh(records: Sequence[Record], ids: list[str], seen: IdSet) -> list[Record]:
        fresh = []
        for record, ident in zip(records, ids, strict=True):
            if ident not in seen:
                seen.add(ident)
                fresh.append(record)
        return fresh

    def _error(self, what: str) -> PayloadError:
        return PayloadError(
            f"the {self.resource} listing {what}", vendor=self.vendor, resource=self.resource
        )


class _Ahead:
    """The pages of one listing requested before their turn, by offset."""

    def __init__(self, pager: OffsetPager) -> None:
        self.pager = pager
        self.pending: dict[int, asyncio.Future[OffsetPage]] = {}

    async def page(self, start: int) -> OffsetPage:
        """The page at ``start``; first asks for the next full pages' offsets below ``expect``."""
        pager, step = self.pager, self.pager.size - self.pager.overlap
        if pager.expect is not None:
            for offset in range(start + step, start + step * (pager.ahead + 1), step):
                if offset >= pager.expect:
                    break
                if offset not in self.pending:
                    self.pending[offset] = asyncio.ensure_future(pager.fetch(offset, pager.size))
        early = self.pending.pop(start, None)
        return await early if early is not None else await pager.fetch(start, pager.size)

    async def drop(self) -> None:
        """Cancel the pages asked for ahead; their errors belong to nobody now."""
        futures, self.pending = list(self.pending.values()), {}
        for future in futures:
            future.cancel()
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)


async def read_ahead(
    items: AsyncIterable[T],
    start: Callable[[T], Awaitable[R]],
    *,
    depth: int = 2,
    last: Callable[[T], bool] | None = None,
) -> AsyncGenerator[tuple[T, R], None]:
    """Each item with the result of ``start(item)``, in order, the next items' work already running.

    A listing page and the requests for its records are one item. While the caller handles a
    page (maps it, yields its batch, waits for a commit), the next ``depth`` pages' requests
    queue for a slot of the HTTP session (and one more page is listed), so the requests in flight stay at the
    session's concurrency across page ends instead of draining at each one. ``start`` runs in
    listing order, before the caller sees the item; what it must not know yet belongs in the
    caller. ``last(item)`` marks the final item wanted: the source is not read past it (a walk
    that reached its watermark lists no extra page). A failure, or a caller that stops early,
    cancels the work in flight.
    """
    queue: asyncio.Queue[tuple[T, list[asyncio.Future[R]]] | _Done] = asyncio.Queue(depth)
    producer = asyncio.ensure_future(_produce(items, start, last, queue))
    try:
        while not isinstance(entry := await queue.get(), _Done):
            item, (work,) = entry
            yield item, await work
        if entry.error is not None:
            raise entry.error
    finally:
        producer.cancel()
        pending: list[asyncio.Future[Any]] = [producer]
        while not queue.empty():
            if not isinstance(entry := queue.get_nowait(), _Done):
                entry[1][0].cancel()
                pending.append(entry[1][0])
        await asyncio.wait(pending)
        for future in pending:  # their errors are those of work nobody waits for any more
            if not future.cancelled():
                future.exception()


@dataclass(frozen=True)
class _Done:
    error: Exception | None = None


async def _produce(
    items: AsyncIterable[T],
    start: Callable[[T], Awaitable[R]],
    last: Callable[[T], bool] | None,
    queue: asyncio.Queue[tuple[T, list[asyncio.Future[R]]] | _Done],
) -> None:
    source = aiter(items)
    try:
        async for item in source:
            work: list[asyncio.Future[R]] = []
            await queue.put((item, work))  # waits for room: at most ``depth`` items run ahead
            work.append(asyncio.ensure_future(start(item)))  # no await since: the caller sees it
            if last is not None and last(item):
                break
    except Exception as exc:  # the caller raises it after the items before it
        await queue.put(_Done(exc))
        return
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()
    await queue.put(_Done())


@dataclass
class WalkState(Generic[P]):
    """A newest-first watermark walk in progress, checkpointed after every page.

    Positions (``P``) are the vendor's sort values: Kayako's epoch ``lastactivity``, WHMCS's
    ``lastreply`` wire string (which sorts like the time it spells).
    """

    high: P | None = None  # newest position when the walk began: the next watermark
    done_below: P | None = None  # every record positioned above this is committed
    floor: P | None = None  # stop below this (None: read everything)
    started: str | None = None  # ISO time the walk began
    full: bool = False  # a walk over everything: re-reads every record, even resumed

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> WalkState[P] | None:
        """The walk a checkpoint holds, or None; states from before ``full`` existed derive it."""
        if not data:
            return None
        return cls(**{"full": data.get("floor") is None} | data)
