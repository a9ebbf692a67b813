"""Failures of the warehouse file through the real CLI: one line on stderr, exit 1, no traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

HOLD = "import sys, time; from deskbridge.warehouse.store import Warehouse; w = Warehouse(sys.argv[1]); print('ready', flush=True); time.sleep(30)"


def deskbridge(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.toml").touch()  # no connections: only the warehouse is opened
    return subprocess.run(
        [sys.executable, "-m", "deskbridge.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80", **env},
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _foreign_duckdb(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()


def _sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE x (a)")
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.write_bytes(b""), "is empty, so not a deskbridge warehouse"),
        (
            lambda p: p.write_text("hello " * 100),
            "is not a DuckDB database, so not a deskbridge warehouse",
        ),
        (_sqlite, "is not a DuckDB database, so not a deskbridge warehouse"),
        (_foreign_duckdb, "is a DuckDB database of something else (tables invoices...)"),
    ],
    ids=["empty", "text", "sqlite", "foreign-duckdb"],
)
def test_a_file_that_is_not_a_warehouse_is_named(tmp_path: Path, make, says: str) -> None:  # type: ignore[no-untyped-def]
    """An empty, foreign or non-DuckDB file is refused with its path, what it is, and the fix."""
    path = tmp_path / "w.duckdb"
    make(path)
    line = one_error_line(deskbridge(tmp_path, "sync", "--db", str(path)))
    assert line.startswith(f"error: {path} ") and says in line
    assert line.endswith("set [warehouse] path (or --db) to a new file")


def test_a_truncated_warehouse_is_damaged(tmp_path: Path) -> None:
    """A warehouse cut short (a copy interrupted) is called damaged, with the way out."""
    good, cut = tmp_path / "good.duckdb", tmp_path / "cut.duckdb"
    from deskbridge.warehouse.store import Warehouse

    Warehouse(good).close()
    cut.write_bytes(good.read_bytes()[:5000])
    line = one_error_line(deskbridge(tmp_path, "sync", "--db", str(cut)))
    assert line.startswith(
        f"error: {cut} is damaged or not a deskbridge warehouse (IO Error: Could not read enough bytes"
    )


def test_a_second_writer_waits_then_names_the_pid(tmp_path: Path) -> None:
    """While another process writes, sync waits [warehouse] lock_wait, then names that process."""
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        started = time.monotonic()
        result = deskbridge(
            tmp_path, "sync", "--db", str(path), DESKBRIDGE_WAREHOUSE__LOCK_WAIT="2s"
        )
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.communicate()
    line = one_error_line(result)
    assert line == (
        f"error: {path} is locked by process {holder.pid} (still running after 2s); "
        "stop it or raise [warehouse] lock_wait"
    )
    assert waited >= 2.0


@pytest.fixture
def read_only_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A read-only bind mount: root ignores file modes, so chmod cannot make one."""
    src, ro = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    ro.mkdir()
    mounted = (
        subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True).returncode == 0
    )
    if (
        not mounted
        or subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True
        ).returncode
    ):
        if mounted:
            subprocess.run(["umount", str(ro)])
        pytest.skip("needs mount (root with CAP_SYS_ADMIN) for a read-only directory")
    yield ro
    subprocess.run(["umount", str(ro)], check=True)


def test_a_read_only_directory_is_named(tmp_path: Path, read_only_dir: Path) -> None:
    """A warehouse path in a read-only directory says so, and what to do."""
    path = read_only_dir / "w.duckdb"
    line = one_error_line(deskbridge(tmp_path, "sync", "--db", str(path)))
    assert line == (
        f"error: cannot write {path} or its directory {read_only_dir} (read-only or no permission); "
        "make it writable or set [warehouse] path (or --db) to a writable place"
    )


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """--debug is the way to the traceback the one line hides."""
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"")
    result = deskbridge(tmp_path, "--debug", "sync", "--db", str(path))
    assert (
        result.returncode == 1
        and "Traceback" in result.stderr
        and "WarehouseError" in result.stderr
    )
