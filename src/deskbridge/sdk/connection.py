"""A connection's config: one ``[connections.<name>]`` table, handed to its connector.

Credentials are never written in the file: each is a reference ``env:NAME`` resolved from the
environment when the connector asks for it (:meth:`ConnectionConfig.secret`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from deskbridge.sdk.durations import parse_duration
from deskbridge.sdk.errors import ConfigError
from deskbridge.sdk.http import HttpOptions


@dataclass(frozen=True)
class Guard:
    """How many listing-proven deletions one run may apply per entity before holding them."""

    share: float = 0.10
    rows: int = 20

    def trips(self, deleting: int, live: int) -> bool:
        return deleting > self.rows and deleting > self.share * live


ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")


class Schedule(BaseModel):
    """When ``deskbridge serve`` runs a connection: an interval or a cron line, with jitter."""

    model_config = ConfigDict(extra="forbid")
    every: str | None = None
    cron: str | None = None
    jitter: str = "0s"

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' or 'cron'")
        for value in (self.every, self.jitter):
            if value is not None:
                parse_duration(value)
        return self


class ConnectionConfig(BaseModel):
    """One ``[connections.<name>]`` table."""

    model_config = ConfigDict(extra="forbid")
    name: str = ""
    type: str
    base_url: str
    credentials: dict[str, str] = Field(default_factory=dict)
    schedule: Schedule | None = None
    concurrency: int = Field(8, ge=1, le=64)
    rate_limit_per_s: float = Field(0.0, ge=0)
    adaptive: bool = Field(
        True, description="Pace below concurrency and rate_limit_per_s by the vendor's answers."
    )
    timeout_s: float = Field(30.0, gt=0)
    retries: int = Field(5, ge=0, le=20)
    retry_backoff_s: float = Field(0.5, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)
    max_delete_share: float = Field(
        0.10, ge=0, le=1, description="Share of live rows a run may delete on a listing alone."
    )
    max_delete_rows: int = Field(
        20, ge=0, description="Deletions on a listing alone always allowed."
    )

    @property
    def delete_guard(self) -> Guard:
        return Guard(self.max_delete_share, self.max_delete_rows)

    @field_validator("credentials")
    @classmethod
    def _env_refs(cls, value: dict[str, str]) -> dict[str, str]:
        for key, ref in value.items():
            if not ENV_REF.match(ref):
                raise ValueError(
                    f"{key}: give an environment reference like 'env:MY_SECRET', not a value"
                )
        return value

    @property
    def http(self) -> HttpOptions:
        return HttpOptions(
            concurrency=self.concurrency,
            rate_limit_per_s=self.rate_limit_per_s,
            adaptive=self.adaptive,
            timeout_s=self.timeout_s,
            retries=self.retries,
            backoff_initial_s=self.retry_backoff_s,
        )

    def secret(self, key: str) -> str:
        """Resolve one credential from the environment."""
        ref = self.credentials.get(key)
        if ref is None:
            raise ConfigError(f"connections.{self.name}.credentials.{key}: missing credential")
        env = ENV_REF.match(ref)[1]  # type: ignore[index]
        value = os.environ.get(env)
        if not value:
            raise ConfigError(
                f"connections.{self.name}.credentials.{key}: environment variable {env} is not set"
            )
        return value
