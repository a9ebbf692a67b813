"""M4 connector options: the README's example validates, and bad values fail naming the option."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from deskbridge.sdk.connection import ConnectionConfig
from deskbridge_connectors.m4.connector import M4Options

README = Path(__file__).resolve().parents[2] / "connectors" / "m4" / "README.md"


def test_readme_config_example_is_valid() -> None:
    """The README's config block is a valid connection with valid options, equal to the defaults."""
    block = README.read_text().split("```toml\n", 1)[1].split("```", 1)[0]
    (conn,) = tomllib.loads(block)["connections"].values()
    ConnectionConfig(**conn)
    assert M4Options.model_validate(conn["options"]) == M4Options()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"server_timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"sweep_window": "10m"}, "at least '1h'"),
        ({"lookback": "soon"}, "expected a duration"),
        ({"reconcile_chunk": 0}, "greater than or equal to 1"),
        ({"page_size": 10}, "Extra inputs are not permitted"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    """Invalid options fail validation with a message saying what is wrong."""
    with pytest.raises(ValidationError, match=message):
        M4Options.model_validate(options)
