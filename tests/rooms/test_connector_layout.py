"""Every connector folder holds the same client files, its declared extras and ``emulator/``."""

from __future__ import annotations

from pathlib import Path

import pytest

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"
VENDORS = sorted(p.name for p in CONNECTORS.iterdir() if (p / "connector.py").exists())
CLIENT = {"__init__", "connector", "auth", "client", "streams", "reread", "mapping", "writer"}
# A vendor's extra modules, each with the reason it is not folded into the standard files.
EXTRAS = {
    "m4": {"clock"},  # M4 sends local times without an offset: the server's zone and clock
    "trackit": {
        "catalog",  # the field-sequence catalog the mappings are checked against
        "loader",  # ticket + children loading shared by every pass and by reread
        "people",  # technicians and requestors seen across passes
    },
    "whmcs": {
        "tickets",  # GetTicket reading shared by the reader and reread
        "keliweb",  # the Keliweb front as a flavour of WHMCS
    },
}


def test_the_five_vendors_are_here() -> None:
    """The layout tests below cover every connector in the tree."""
    assert VENDORS == ["kayako", "m4", "omnidesk", "trackit", "whmcs"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_same_client_files_in_every_connector(vendor: str) -> None:
    """The standard modules plus declared extras, a README and an emulator package; nothing else."""
    folder = CONNECTORS / vendor
    assert {p.stem for p in folder.glob("*.py")} == CLIENT | EXTRAS.get(vendor, set())
    assert (folder / "README.md").is_file()
    assert (folder / "emulator" / "__init__.py").is_file()
