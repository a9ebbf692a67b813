"""The README's quick start stays true: CI runs its test command, and its demo command works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_is_exactly_two_commands() -> None:
    """The quick start is two one-line commands: one ends in the demo, one in the tests."""
    commands = quick_start()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert commands[0].endswith("deskbridge demo")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs the README's test command verbatim."""
    assert quick_start()[1] in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_demo_command_runs_end_to_end(tmp_path: Path) -> None:
    """The demo (the README's first command, after install) syncs every sandbox twice and queries."""
    exe = Path(sys.executable).with_name("deskbridge")
    demo = quick_start()[0].split("&& ")[-1].replace(".venv/bin/deskbridge", str(exe))
    proc = subprocess.run(
        [*demo.split(), "--db", str(tmp_path / "demo.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for title in (
        "Tickets per vendor and canonical status",
        "Hours per agent per week",
        "Sync runs",
    ):
        assert title in proc.stdout
    con = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    runs = con.execute(
        "SELECT connection, count(*), bool_and(status = 'success') FROM sync_runs GROUP BY 1 ORDER BY 1"
    ).fetchall()
    con.close()
    linked = ("kayako_demo", "trackit_demo")  # the demo's two-way link pulls both twice more
    assert runs and all(n == (4 if name in linked else 2) and ok for name, n, ok in runs)
