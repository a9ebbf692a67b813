"""The connector contract: what a vendor plugin provides and what the engine promises it.

A vendor plugin is a package that registers a :class:`Plugin` under the entry-point group
``deskbridge.connectors``::

    [project.entry-points."deskbridge.connectors"]
    kayako = "deskbridge_connectors.kayako:plugin"

The :class:`Plugin` is cheap to import (listing connectors imports nothing heavy); it names
the :class:`Connector` subclass and the vendor emulator by import path.

A connector

* declares its **streams** (:class:`StreamSpec`): which canonical entity each fills and how it
  is fetched incrementally (:class:`CursorKind`);
* **reads** (:meth:`Connector.read`): an async iterator of :class:`Batch` objects. Each batch
  holds canonical rows (built by the connector's pure mapping functions from raw vendor
  records), the cursor state that covers them, and what the batch proves deleted. The engine
  commits every batch, rows and cursor together, in one DuckDB transaction: a batch is the unit
  of checkpointing, so a run killed anywhere resumes from the last committed batch;
* declares the **write operations** it supports (:class:`WriteOp`) and performs them
  (:meth:`Connector.write`), returning the vendor's id of what it created;
* declares its **capabilities** (:class:`Capability`), such as re-reading single tickets
  (:meth:`Connector.read_tickets`); the engine never asks for one a connector lacks.

Helpers for connectors live here too: :data:`Duration` for duration options (checked when the
config loads; :meth:`ConnectorOptions.seconds` reads them), :func:`row_hash` (the hash the
warehouse stores for a canonical row, to compare with :meth:`WarehouseView.hashes`) and
:func:`canonical_fields`.

Canonical rows are dicts with ``source_id`` (a string), the canonical fields of the entity's
table (see :mod:`deskbridge.sdk.models`) and ``raw`` (the vendor payload of that record). The
engine adds the connection name, hashes, timestamps and strips secrets from ``raw``.
"""

from __future__ import annotations

import hashlib
import importlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict

from deskbridge.sdk.canonical import FIELDS_KEY, canonical_fields
from deskbridge.sdk.customfields import FieldSpec
from deskbridge.sdk.durations import parse_duration

if TYPE_CHECKING:
    import httpx

    from deskbridge.sdk.connection import ConnectionConfig
    from deskbridge.sdk.emulator import Emulator

Row = dict[str, Any]
T = TypeVar("T")


class CursorKind(StrEnum):
    """How a stream finds what changed since the last run."""

    TIMESTAMP = "timestamp"  # a vendor modification time, walked newest-first to a watermark
    ID_WALK = "id_walk"  # probe ids past the highest known one; re-read what can still change
    SNAPSHOT = "snapshot"  # read everything, keep what hashes differently
    WINDOW = "window"  # overlapping time windows over a vendor date search
    WITH_PARENT = "with_parent"  # re-read whenever its ticket is re-read
    FULL = "full"  # small lookups re-read in full every run


class Capability(StrEnum):
    """What a connector can do besides reading and writing; the engine never asks for one it lacks.

    Declared in :attr:`Connector.capabilities`. ``READ_TICKETS`` is added for a subclass that
    overrides :meth:`Connector.read_tickets`.
    """

    READ_TICKETS = "read_tickets"  # re-read single tickets with their children (crash recovery)


class WriteOp(StrEnum):
    """Write operations a connector may support."""

    CREATE_TICKET = "create_ticket"
    UPDATE_FIELDS = "update_fields"
    CHANGE_STATUS = "change_status"
    CLOSE_TICKET = "close_ticket"
    DELETE_TICKET = "delete_ticket"
    ADD_NOTE = "add_note"
    UPDATE_NOTE = "update_note"
    DELETE_NOTE = "delete_note"
    ADD_TIME_ENTRY = "add_time_entry"
    DELETE_TIME_ENTRY = "delete_time_entry"


@dataclass(frozen=True)
class StreamSpec:
    """One stream: a named flow of records into one canonical entity."""

    name: str
    entity: str
    cursor: CursorKind
    description: str = ""
    state_version: int = 1


@dataclass(frozen=True)
class Scope:
    """A set of rows a batch has read in full: stored rows inside it that the batch did not
    carry are *candidates* for deletion, confirmed with the vendor before they get
    ``deleted_at`` (see :mod:`deskbridge.pull.deletions`). ``Batch.deleted`` is for records the
    vendor itself answered not found.

    ``ticket_ids`` limits the scope to the children of those tickets (or to those tickets, for
    the ``tickets`` entity). ``None`` means the whole connection: then every row not synced since
    ``since`` (the start of the pass that read them all, which may span resumed runs; default:
    this run's start) is gone. ``match`` adds column equalities (e.g. ``{"kind": "reply"}`` when
    only replies were re-read).
    """

    entity: str
    ticket_ids: tuple[str, ...] | None = None
    match: Mapping[str, str] = field(default_factory=dict)
    since: datetime | None = None


@dataclass
class Batch:
    """What the engine commits in one transaction."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # stream name -> new cursor state
    complete: list[Scope] = field(default_factory=list)
    deleted: dict[str, list[str]] = field(default_factory=dict)  # entity -> source ids gone
    # the connection's whole custom field catalog, when this batch read it (see deskbridge.sdk.customfields)
    fields: list[FieldSpec] | None = None

    def add(self, entity: str, rows: list[Row]) -> None:
        self.rows.setdefault(entity, []).extend(rows)

    def __len__(self) -> int:
        return sum(map(len, self.rows.values()))


def content_hash(row: Mapping[str, Any], fields: Iterable[str]) -> str:
    """Digest of ``row``'s values of ``fields``, in order (the warehouse's ``content_hash``).

    A ticket's custom field values (``row["fields"]``, see :mod:`deskbridge.sdk.customfields`) count too, by
    key and value; a row without any hashes as it did before custom fields were read.
    """
    values = [row.get(f) for f in fields]
    custom = row.get(FIELDS_KEY)
    if custom:
        values.append(sorted([str(v["key"]), v.get("value")] for v in custom))
    payload = orjson.dumps(values, default=str)
    return hashlib.blake2b(payload, digest_size=12).hexdigest()


def row_hash(entity: str, row: Mapping[str, Any]) -> str:
    """The ``content_hash`` the warehouse will store for this canonical row of ``entity``.

    A connector compares it with :meth:`WarehouseView.hashes` to tell a changed record from
    one it already holds, without re-reading children or re-writing the row.
    """
    return content_hash(row, canonical_fields(entity))


class WarehouseView(ABC):
    """Read-only questions a connector may ask about what the warehouse already holds."""

    @abstractmethod
    def ids(self, entity: str, *, deleted: bool = False, **equals: Any) -> list[str]:
        """Source ids of this connection's rows of ``entity`` with the given column values."""

    @abstractmethod
    def child_counts(self, entity: str, **equals: Any) -> dict[str, int]:
        """``{ticket_id: live rows}`` of a child entity (notes, time_entries, attachments)."""

    @abstractmethod
    def values(self, entity: str, column: str, ids: list[str]) -> dict[str, Any]:
        """``{source_id: column value}`` for those of ``ids`` the warehouse holds live."""

    @abstractmethod
    def distinct(self, entity: str, column: str, **equals: Any) -> set[Any]:
        """The distinct non-null values of ``column`` among this connection's live rows."""

    @abstractmethod
    def hashes(self, entity: str) -> dict[str, str]:
        """``{source_id: content_hash}`` of this connection's live rows of ``entity``."""


@dataclass
class WriteContext:
    """What the engine tells one write about earlier attempts, and how the write reports back.

    A create that takes several requests calls :meth:`created` the moment the vendor returns the
    new id, before any follow-up request: the engine commits the id, so a crash or a failed
    follow-up never leads to a second create. When ``resume`` is set, an earlier attempt created
    that record: the write does only the follow-ups still missing (``marker`` shows which landed)
    and never creates again.
    """

    marker: str | None = None  # the recovery key carried in the written content
    resume: str | None = None  # id an earlier attempt created; its follow-ups may be missing
    on_created: Callable[[str], Awaitable[None]] | None = None

    async def created(self, record_id: str) -> None:
        if self.on_created is not None:
            await self.on_created(record_id)


@dataclass
class ReadContext:
    """What the engine hands a connector for one run."""

    connection: str
    state: dict[str, Any]  # stream name -> last committed state (absent: first run)
    full_refresh: bool
    warehouse: WarehouseView
    started_at: datetime
    progress: Callable[[str, int, int | None], None] = lambda stream, done, total: None

    def tally(self, stream: str, total: int | None = None) -> Tally:
        """A count of ``stream``'s records read, reported to :attr:`progress` as each one lands."""
        return Tally(self.progress, stream, total)


@dataclass
class Tally:
    """Records of one stream read so far, against the vendor's total where it gives one.

    A connector counts each record as its request completes (:meth:`counted`), so an operator's
    progress moves per request, not per page of hundreds.
    """

    report: Callable[[str, int, int | None], None]
    stream: str
    total: int | None = None
    done: int = 0

    def add(self, n: int = 1) -> None:
        self.done += n
        if self.total is not None and self.done > self.total:  # the helpdesk grew mid-run
            self.total = self.done
        self.report(self.stream, self.done, self.total)

    async def counted(self, read: Awaitable[T]) -> T:
        result = await read
        self.add()
        return result


class ConnectorOptions(BaseModel):
    """Vendor-specific settings under ``[connections.<name>.options]``; subclass per vendor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def seconds(self, name: str) -> float:
        """An option typed :data:`Duration` (``"5m"``, ``"24h"``), in seconds."""
        return parse_duration(getattr(self, name))


class Connector(ABC):
    """Base of every vendor connector.

    Subclasses set ``vendor``, ``streams``, ``write_ops`` and ``Options``, and build their
    vendor client from ``config`` in ``__init__``, passing ``transport`` to httpx.
    """

    vendor: ClassVar[str]
    streams: ClassVar[tuple[StreamSpec, ...]]
    write_ops: ClassVar[frozenset[WriteOp]] = frozenset()
    # canonical ticket fields UPDATE_FIELDS sets
    writable_fields: ClassVar[frozenset[str]] = frozenset()
    # note kinds ADD_NOTE can write
    note_kinds: ClassVar[frozenset[str]] = frozenset({"reply", "note"})
    # False: an internal note is always private (a reply is the public kind)
    public_notes: ClassVar[bool] = True
    # False: every reply is public (a private one is carried as a private note)
    private_replies: ClassVar[bool] = True
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    # A deletion inferred from a listing the vendor cannot confirm record by record counts only
    # if that listing started and completed within this many seconds.
    deletion_proof_window_s: ClassVar[float] = 3600.0
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "read_tickets" in cls.__dict__:
            cls.capabilities = cls.capabilities | {Capability.READ_TICKETS}

    @classmethod
    def can(cls, capability: Capability) -> bool:
        return capability in cls.capabilities

    def __init__(
        self, config: ConnectionConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.options = self.Options.model_validate(config.options)

    @property
    @abstractmethod
    def request_counts(self) -> Mapping[str, int]:
        """Requests made so far by category: ``incremental`` and ``reconcile``."""

    @abstractmethod
    async def check(self) -> str:
        """Prove connectivity and auth with one cheap call; return a one-line summary."""

    @abstractmethod
    def read(self, ctx: ReadContext) -> AsyncIterator[Batch]:
        """Yield batches of canonical rows with the cursor state that covers them."""

    async def write(
        self, op: WriteOp, ticket_id: str | None, payload: Row, ctx: WriteContext | None = None
    ) -> str | None:
        """Perform ``op`` (on ``ticket_id`` where it applies); return the created record's id.

        The recovery key (``ctx.marker``, also inside the payload's text) goes in the request
        that creates the record wherever the vendor accepts it; a create that needs further
        requests reports the new id through ``ctx.created`` first and honours ``ctx.resume``.

        Payloads are canonical: ticket fields as in :class:`~deskbridge.sdk.models.Ticket` (status
        and priority as this vendor's labels), plus ``body``, ``requester_name`` and
        ``requester_email`` on create; notes as in :class:`~deskbridge.sdk.models.Note`; time
        entries as in :class:`~deskbridge.sdk.models.TimeEntry`. People are this vendor's
        ``people.source_id`` values.
        """
        raise NotImplementedError(f"{self.vendor} does not support {op}")

    async def read_tickets(self, ticket_ids: list[str]) -> Batch:
        """Re-read these tickets with all their children now (used to recover after a crash).

        Overriding it declares :attr:`Capability.READ_TICKETS`. A ticket the vendor no longer
        has goes in ``Batch.deleted``.
        """
        raise NotImplementedError(f"{self.vendor} cannot re-read single tickets")

    async def confirm_gone(
        self, entity: str, records: Mapping[str, str | None]
    ) -> tuple[dict[str, bool], Batch | None]:
        """Ask the vendor whether stored records a listing lacked are really gone.

        ``records`` maps each source id to its ticket's source id (``None`` for tickets and
        people). Returns ``{source_id: True}`` for a record the vendor answered not found (or
        whose ticket it answered not found), ``False`` for one it still has, and leaves out those
        it cannot answer for; plus the batch read to find out, whose rows the engine stores.
        The default re-reads the tickets concerned with :meth:`read_tickets`, where the
        connector has it; people are left unanswered. The engine asks about a bounded number of
        tickets' records at a time.
        """
        if entity == "people" or not self.can(Capability.READ_TICKETS):
            return {}, None
        batch = await self.read_tickets(
            sorted({ticket or source for source, ticket in records.items()})
        )
        return answers_from_batch(batch, entity, records), batch

    async def aclose(self) -> None:  # noqa: B027 - optional hook; a connector without resources skips it
        """Release network resources."""

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class Plugin:
    """The entry point object: a vendor's name and where its heavy parts live."""

    name: str
    title: str
    connector: str  # "module:Class"
    emulator: str  # "module:Class"
    credentials: tuple[str, ...]  # credential keys the connector needs
    docs: str = ""

    def connector_class(self) -> type[Connector]:
        return _load(self.connector)

    def emulator_class(self) -> type[Emulator]:
        return _load(self.emulator)


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


Progress = Callable[[str, int, int | None], None]


def answers_from_batch(
    batch: Any, entity: str, records: Mapping[str, str | None]
) -> dict[str, bool]:
    """What a re-read of tickets (``Connector.read_tickets``) proves about ``records``.

    A ticket the re-read marked deleted is gone, and so are its children; a record the re-read
    carried is there; a child the re-read lacks is gone when a complete scope of the re-read
    covered its ticket. Anything else is left unanswered.
    """
    gone_tickets = set(map(str, batch.deleted.get("tickets", ())))
    carried = {str(r["source_id"]) for r in batch.rows.get(entity, ())}
    gone_here = set(map(str, batch.deleted.get(entity, ())))
    covered: set[str] = set()
    for scope in batch.complete:
        if scope.entity == entity and scope.ticket_ids is not None and not scope.match:
            covered.update(map(str, scope.ticket_ids))
    answers: dict[str, bool] = {}
    for source_id, ticket_id in records.items():
        if source_id in carried:
            answers[source_id] = False
        elif (
            source_id in gone_here
            or (ticket_id or source_id) in gone_tickets
            or (entity != "tickets" and ticket_id in covered)
        ):
            answers[source_id] = True
    return answers
