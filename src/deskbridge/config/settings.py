"""The whole configuration as a model: the warehouse, connections and links.

``Settings`` reads ``DESKBRIDGE_*`` environment variables over the TOML file that
:func:`deskbridge.config.load_settings` names in :data:`CONFIG_FILE` for the time of one load.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from deskbridge.config.links import LinkConfig
from deskbridge.sdk.connection import ENV_REF, ConnectionConfig
from deskbridge.sdk.durations import Duration, parse_duration
from deskbridge.sdk.errors import ConfigError


class WarehouseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path = Path("deskbridge.duckdb")
    memory_limit: str = Field(
        default="128MB",
        description="DuckDB memory limit of the writer; beyond it, DuckDB spills to disk.",
    )
    lock_wait: Duration = Field(
        default="60s",
        description="How long a command waits while another process writes the warehouse.",
    )

    backend: Literal["duckdb", "ducklake"] = Field(
        default="duckdb",
        description="duckdb: one file at path, one writer. ducklake: Parquet files at data_path "
        "and a catalog, written by many serve workers at once.",
    )
    catalog: str | None = Field(
        default=None,
        description="ducklake: 'env:NAME' naming a PostgreSQL connection string (many machines), "
        "or a local DuckDB catalog file such as lake.ducklake (one machine).",
    )
    data_path: Path | None = Field(
        default=None, description="ducklake: the directory that holds the tables' Parquet files."
    )

    @property
    def lock_wait_s(self) -> float:
        return parse_duration(self.lock_wait)

    @model_validator(mode="after")
    def _lake_complete(self) -> WarehouseConfig:
        if self.backend == "ducklake" and not (self.catalog and self.data_path):
            raise ValueError(
                "backend 'ducklake' needs catalog (env:NAME of a PostgreSQL connection string, "
                "or a .ducklake file) and data_path (a directory)"
            )
        if self.catalog and re.search(r"(^|\s)(password|host|dbname)=|://", self.catalog):
            raise ValueError(
                "catalog: give the PostgreSQL connection string as an environment reference "
                "like 'env:DESKBRIDGE_LAKE', not in the file"
            )
        return self

    def catalog_value(self) -> str:
        """The catalog: a PostgreSQL connection string from the environment, or a file path."""
        ref = ENV_REF.match(self.catalog or "")
        if ref is None:
            return str(self.catalog)
        value = os.environ.get(ref[1])
        if not value:
            raise ConfigError(f"warehouse.catalog: environment variable {ref[1]} is not set")
        return value


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="DESKBRIDGE_", env_nested_delimiter="__", extra="forbid", toml_file=None
    )
    warehouse: WarehouseConfig = Field(default_factory=WarehouseConfig)
    connections: dict[str, ConnectionConfig] = Field(default_factory=dict)
    links: dict[str, LinkConfig] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=CONFIG_FILE.get("path"))
        return (init_settings, env_settings, toml)


# pydantic-settings takes the TOML file per class, not per instance: load_settings() sets it
# here for the time of one load.
CONFIG_FILE: dict[str, Path | None] = {}
