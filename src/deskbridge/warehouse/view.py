"""The :class:`~deskbridge.sdk.contract.WarehouseView` a connector gets: its connection's stored rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from deskbridge.sdk import canonical
from deskbridge.sdk.contract import WarehouseView
from deskbridge.warehouse.idlist import IDS, id_list

if TYPE_CHECKING:
    from deskbridge.warehouse.store import Warehouse


class ConnectionView(WarehouseView):
    """What a connector may ask about one connection's stored rows."""

    def __init__(self, warehouse: Warehouse, connection: str) -> None:
        self.warehouse, self.connection = warehouse, connection

    @property
    def con(self) -> duckdb.DuckDBPyConnection:  # the warehouse's current one (it may reopen it)
        return self.warehouse.con

    def ids(self, entity: str, *, deleted: bool = False, **equals: Any) -> list[str]:
        where, params = self._where(deleted, equals)
        return [
            r[0]
            for r in self.con.execute(
                f"SELECT source_id FROM {entity} WHERE {where}", params
            ).fetchall()
        ]

    def child_counts(self, entity: str, **equals: Any) -> dict[str, int]:
        where, params = self._where(False, equals)
        sql = f"SELECT ticket_id, count(*) FROM {entity} WHERE {where} GROUP BY ticket_id"
        return dict(self.con.execute(sql, params).fetchall())

    def values(self, entity: str, column: str, ids: list[str]) -> dict[str, Any]:
        if column not in canonical.column_names(entity):
            raise ValueError(f"{entity} has no column {column!r}")
        where, params = self._where(False, {"source_id": ids})
        return dict(
            self.con.execute(
                f"SELECT source_id, {column} FROM {entity} WHERE {where}", params
            ).fetchall()
        )

    def distinct(self, entity: str, column: str, **equals: Any) -> set[Any]:
        if column not in canonical.column_names(entity):
            raise ValueError(f"{entity} has no column {column!r}")
        where, params = self._where(False, equals)
        sql = f"SELECT DISTINCT {column} FROM {entity} WHERE {where} AND {column} IS NOT NULL"
        return {r[0] for r in self.con.execute(sql, params).fetchall()}

    def _where(self, deleted: bool, equals: dict[str, Any]) -> tuple[str, list[Any]]:
        sql = f"connection = ? AND deleted_at IS {'NOT ' if deleted else ''}NULL"
        params: list[Any] = [self.connection]
        for column, value in equals.items():
            if isinstance(value, list | tuple | set):
                sql += f" AND {column} IN (SELECT {IDS})"
                params.append(id_list(value))
            else:
                sql += f" AND {column} = ?"
                params.append(value)
        return sql, params

    def hashes(self, entity: str) -> dict[str, str]:
        rows = self.con.execute(
            f"SELECT source_id, content_hash FROM {entity} WHERE connection = ? AND deleted_at IS NULL",
            [self.connection],
        ).fetchall()
        return dict(rows)
