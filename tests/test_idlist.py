"""Id lists travel as one string parameter and come back exactly as given."""

from __future__ import annotations

import duckdb
import pytest

from deskbridge.warehouse.idlist import IDS, id_list

SPLIT = f"SELECT {IDS}"


@pytest.mark.parametrize(
    "ids",
    [
        [],
        ["1"],
        ["post:1", "note:2", "note:2"],
        ["", "a b", "ü,;'\""],
        [str(i) for i in range(3000)],
    ],
)
def test_ids_come_back_as_given(ids: list[str]) -> None:
    con = duckdb.connect()
    assert [r[0] for r in con.execute(SPLIT, [id_list(ids)]).fetchall()] == ids


def test_an_id_holding_the_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="U\\+001F"):
        id_list(["a\x1fb"])
