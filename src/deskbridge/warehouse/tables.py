"""Every table that is not canonical: history, runs, cursor state, the service's plan,
suspected deletions, and the push side's crosswalk, failures, skips and runs.

The canonical (synced) tables live in :mod:`deskbridge.sdk.models`; the DDL of both is derived
from the models by :mod:`deskbridge.warehouse.schema`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel


class TicketHistory(SQLModel, table=True):
    """One row per distinct version of a ticket seen by a sync."""

    __tablename__ = "ticket_history"
    connection: str = Field(primary_key=True, description="Connection name.")
    source_id: str = Field(primary_key=True, description="tickets.source_id.")
    content_hash: str = Field(primary_key=True, description="Hash of this version.")
    seen_at: datetime = Field(
        primary_key=True, description="When this version was first seen (UTC)."
    )
    run_id: int | None = Field(default=None, description="Run that saw it.")
    subject: str | None = Field(default=None, description="Subject in this version.")
    status: str | None = Field(default=None, description="Vendor status in this version.")
    status_category: str | None = Field(
        default=None, description="Canonical status in this version."
    )
    priority: str | None = Field(default=None, description="Vendor priority in this version.")
    assignee_id: str | None = Field(default=None, description="Assignee in this version.")
    updated_at: datetime | None = Field(
        default=None, description="Vendor update time in this version."
    )


class SyncRun(SQLModel, table=True):
    """Every sync run: start, end, status, counts, requests, error."""

    __tablename__ = "sync_runs"
    run_id: int = Field(primary_key=True, description="Run number, increasing.")
    connection: str = Field(description="Connection name.")
    started_at: datetime = Field(description="Start (UTC).")
    ended_at: datetime | None = Field(
        default=None, description="End (UTC); null while running or if killed."
    )
    status: str = Field(description="running, success, failed, interrupted.")
    full_refresh: bool = Field(default=False, description="Whether cursors were ignored.")
    counts: Any = Field(default=None, sa_type=JSON, description="Rows written per stream.")
    requests: int = Field(default=0, description="HTTP requests made by the incremental read.")
    reconcile_requests: int = Field(
        default=0, description="HTTP requests made by reconcile passes."
    )
    error: str | None = Field(
        default=None, description="Error message of a failed run (secrets redacted)."
    )
    worker: str | None = Field(
        default=None,
        description="The process that ran it, as host:pid (serve workers share a lake).",
    )
    snapshot_id: int | None = Field(
        default=None, description="DuckLake warehouse: the snapshot analysts read after this run."
    )


class SyncState(SQLModel, table=True):
    """Cursor state per connection and stream; where the next run starts."""

    __tablename__ = "sync_state"
    connection: str = Field(primary_key=True, description="Connection name.")
    stream: str = Field(primary_key=True, description="Stream name.")
    state: Any = Field(default=None, sa_type=JSON, description="Cursor state (connector-defined).")
    state_version: int = Field(description="Version of the state's shape, checked on load.")
    updated_at: datetime = Field(description="When the cursor last moved (UTC).")


class ServiceState(SQLModel, table=True):
    """Per connection, what `deskbridge serve` plans: the next run, and backoff after failures."""

    __tablename__ = "service_state"
    connection: str = Field(primary_key=True, description="Connection name.")
    next_run_at: datetime | None = Field(
        default=None, description="When `deskbridge serve` plans the next run (UTC)."
    )
    backoff_until: datetime | None = Field(
        default=None,
        description="After failures in a row: no run before this time (UTC); null when healthy.",
    )
    updated_at: datetime = Field(description="When the service last wrote this row (UTC).")


class SuspectedDeletion(SQLModel, table=True):
    """A stored row a complete listing lacked, not yet proven gone."""

    __tablename__ = "suspected_deletions"
    connection: str = Field(primary_key=True, description="Connection name.")
    entity: str = Field(
        primary_key=True, description="tickets, notes, time_entries, people or attachments."
    )
    source_id: str = Field(primary_key=True, description="The row's source_id.")
    ticket_id: str | None = Field(default=None, description="Its ticket, for child rows.")
    state: str = Field(
        description="candidate (to be checked at the end of the run) or held (waits for an operator)."
    )
    reason: str | None = Field(default=None, description="Why a held row was not deleted.")
    listed_from: datetime = Field(
        description="Start of the listing pass that lacked the row (UTC)."
    )
    detected_at: datetime = Field(description="When that pass completed (UTC).")
    run_id: int | None = Field(default=None, description="sync_runs.run_id that found it missing.")


class Crosswalk(SQLModel, table=True):
    """One linked record: its id on each side and the values both sides last agreed on."""

    __tablename__ = "crosswalk"
    link: str = Field(primary_key=True, description="Link name from config.")
    entity: str = Field(primary_key=True, description="tickets, notes or time_entries.")
    origin: str = Field(primary_key=True, description="Side the record was first seen on: a or b.")
    origin_id: str = Field(primary_key=True, description="source_id on the origin side.")
    a_id: str | None = Field(default=None, description="source_id on side a.")
    b_id: str | None = Field(default=None, description="source_id on side b.")
    state: str = Field(
        description="pending (write sent, twin not yet known), created (twin known, follow-up requests may be missing) or linked."
    )
    marker: str = Field(
        description="Token carried in the written content, to find it after a crash."
    )
    base_a: Any = Field(
        default=None, sa_type=JSON, description="Field values last agreed, in side a's terms."
    )
    base_b: Any = Field(
        default=None, sa_type=JSON, description="Field values last agreed, in side b's terms."
    )
    hash_a: str | None = Field(
        default=None, description="Digest (md5) of base_a: what side a last agreed to."
    )
    hash_b: str | None = Field(
        default=None, description="Digest (md5) of base_b: what side b last agreed to."
    )
    pushed_at: datetime | None = Field(
        default=None, description="Last write through this link (UTC)."
    )


class PushFailure(SQLModel, table=True):
    """A write the target refused; retried on every run until it goes through."""

    __tablename__ = "push_failures"
    link: str = Field(primary_key=True, description="Link name.")
    entity: str = Field(primary_key=True, description="Entity of the source record.")
    target: str = Field(primary_key=True, description="Side written to: a or b.")
    source_id: str = Field(primary_key=True, description="The record on the source side.")
    op: str = Field(description="Write operation attempted.")
    reason: str = Field(description="Why it failed (vendor message, missing mapping, permission).")
    attempts: int = Field(description="How many runs tried it.")
    first_failed_at: datetime = Field(description="First failure (UTC).")
    last_failed_at: datetime = Field(description="Latest failure (UTC).")
    resolved_at: datetime | None = Field(
        default=None, description="When a later run wrote it (UTC)."
    )


class PushSkip(SQLModel, table=True):
    """Something a target cannot hold and the link said to skip, with the reason."""

    __tablename__ = "push_skips"
    link: str = Field(primary_key=True, description="Link name.")
    entity: str = Field(primary_key=True, description="Entity of the source record.")
    target: str = Field(primary_key=True, description="Side that cannot hold it.")
    source_id: str = Field(primary_key=True, description="The record on the source side.")
    reason: str = Field(description="Why it was not written.")
    skipped_at: datetime = Field(description="When (UTC).")


class PushRun(SQLModel, table=True):
    """Every push (or dry run) of a link."""

    __tablename__ = "push_runs"
    push_id: int = Field(primary_key=True, description="Push run number.")
    link: str = Field(description="Link name.")
    started_at: datetime = Field(description="Start (UTC).")
    ended_at: datetime | None = Field(default=None, description="End (UTC).")
    status: str = Field(description="running, success, partial (some rows failed), failed.")
    dry_run: bool = Field(default=False, description="Whether writes were only planned.")
    counts: Any = Field(
        default=None, sa_type=JSON, description="Actions planned, done, failed per kind."
    )
    error: str | None = Field(default=None, description="Error of a failed push.")


PUSH_TABLES: tuple[type[SQLModel], ...] = (Crosswalk, PushFailure, PushSkip, PushRun)
