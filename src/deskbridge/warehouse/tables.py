"""Tables of the push side: the id crosswalk, failed rows, and push runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel


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
