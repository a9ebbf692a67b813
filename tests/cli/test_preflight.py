"""Links preflight through the real CLI over loopback sandboxes: every problem named, nothing written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import pytest
from e2e.sandbox_proc import DESKBRIDGE, SandboxProcess

pytestmark = pytest.mark.slow


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKBRIDGE, *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def configure(
    tmp_path: Path, src: SandboxProcess, dst: SandboxProcess, link: str
) -> dict[str, str]:
    """config.toml with connections src and dst and ``link`` (TOML lines, or empty)."""
    env_a = src.write_config(tmp_path / "a.toml", "src", closed_reconcile_every="0s")
    env_b = dst.write_config(tmp_path / "b.toml", "dst")
    text_a = (tmp_path / "a.toml").read_text()
    text_b = (tmp_path / "b.toml").read_text().split("\n\n", 1)[1]  # without its [warehouse]
    (tmp_path / "config.toml").write_text(f"{text_a}\n{text_b}\n{link}")
    return {**os.environ, **env_a, **env_b}


def known(tmp_path: Path, sql: str) -> str:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        return ", ".join(sorted(r[0] for r in con.execute(sql).fetchall()))
    finally:
        con.close()


@pytest.fixture
def kayako_to_whmcs(tmp_path: Path):  # type: ignore[no-untyped-def]
    src = SandboxProcess("kayako", "--tickets", "5", "--seed", "3")
    dst = SandboxProcess("whmcs", "--tickets", "8", "--seed", "4")
    try:
        yield src, dst
    finally:
        src.stop()
        dst.stop()


def test_unknown_department_and_person_are_named_and_nothing_is_written(
    tmp_path: Path, kayako_to_whmcs: tuple[SandboxProcess, SandboxProcess]
) -> None:
    """A default department and a people pair the target lacks: one line each with the key and the
    known values, in --dry-run and in push alike; the target is untouched and the exit non-zero."""
    src, dst = kayako_to_whmcs
    link = (
        '[links.copy]\na = "src"\nb = "dst"\ndirection = "a_to_b"\n'
        'author = { b = "admin:1" }\ndefaults = { b = { department = "Support" } }\n'
        'people = { "staff:1" = "admin:999" }\n'
    )
    env = configure(tmp_path, src, dst, link)
    before = dst.truth()
    for args in (["push", "--dry-run"], ["push", "copy"]):
        refused = run(tmp_path, env, *args)
        departments = known(
            tmp_path, "SELECT DISTINCT department FROM tickets WHERE connection = 'dst'"
        )
        admins = known(
            tmp_path,
            "SELECT source_id FROM people WHERE connection = 'dst' AND kind = 'staff'",
        )
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.splitlines() == [
            f"error: links.copy.people.'staff:1' = 'admin:999' (side b): 'admin:999' is not a "
            f"whmcs staff of dst; known: {admins}",
            "error: links.copy.defaults.b.department: 'Support' is not a whmcs department; "
            f"known: {departments}",
            "Link copy: stopped before any write (2 problems)",
        ], args
        assert "Traceback" not in refused.stdout + refused.stderr
        assert dst.truth() == before
        assert not (tmp_path / "plans").exists()


def test_config_load_names_bad_id_forms_and_values(
    tmp_path: Path, kayako_to_whmcs: tuple[SandboxProcess, SandboxProcess]
) -> None:
    """Before anything runs: an author, a people pair and a default of the wrong form, one line each."""
    src, dst = kayako_to_whmcs
    link = (
        '[links.copy]\na = "src"\nb = "dst"\ndirection = "a_to_b"\n'
        'author = { b = "staff:1" }\ndefaults = { b = { status = "Escalated" } }\n'
        'people = { "agent:3" = "admin:2" }\n'
    )
    env = configure(tmp_path, src, dst, link)
    refused = run(tmp_path, env, "push", "--dry-run")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.splitlines() == [
        "error: config.toml: links.copy.author.b: 'staff:1' is not a whmcs staff id; expected admin:<n>",
        "error: config.toml: links.copy.people.'agent:3' (side a): 'agent:3' is not a kayako people id; "
        "expected staff:<n> or user:<n>",
        "error: config.toml: links.copy.defaults.b.status: 'Escalated' is not a whmcs status; "
        "known: Answered, Closed, Customer-Reply, In Progress, On Hold, Open",
    ]
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_migrate_without_author_or_department_stops_before_writing(
    tmp_path: Path, kayako_to_whmcs: tuple[SandboxProcess, SandboxProcess]
) -> None:
    """No link configured, no --author: migrate names both fixes and creates nothing; --author and
    a link's defaults then let it through."""
    src, dst = kayako_to_whmcs
    env = configure(tmp_path, src, dst, "")
    before = dst.truth()
    refused = run(tmp_path, env, "migrate", "--from", "src", "--to", "dst")
    departments = known(
        tmp_path, "SELECT DISTINCT department FROM tickets WHERE connection = 'dst'"
    )
    name = "links.migrate_src_to_dst"
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines() == [
        f"error: {name}.author.b (--author): whmcs needs an author to write notes and "
        f"time_entries; give --author <id> or set {name}.author.b (admin:<n>)",
        f"error: {name}.defaults.b.department: whmcs needs a department for new tickets; set it "
        f"in the defaults of a [links.<name>] table with a = 'src', b = 'dst'; known: {departments}",
        "Link migrate_src_to_dst: stopped before any write (2 problems)",
    ]
    assert dst.truth()["tickets"] == before["tickets"]  # zero tickets created
    assert dst.truth() == before
    link = '[links.move]\na = "src"\nb = "dst"\ndefaults = { b = { department = "Sales" } }\n'
    env = configure(tmp_path, src, dst, link)
    moved = run(tmp_path, env, "migrate", "--from", "src", "--to", "dst", "--author", "admin:1")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert len(dst.truth()["tickets"]) == len(before["tickets"]) + 5
    assert "Link move: did" in moved.stdout


def test_serve_stops_a_link_whose_preflight_fails_and_keeps_pulling(
    tmp_path: Path, kayako_to_whmcs: tuple[SandboxProcess, SandboxProcess]
) -> None:
    """serve's push after each pull runs the same preflight: logged with the key, nothing written."""
    from service.service_proc import ServiceProcess, write_config

    src, dst = kayako_to_whmcs
    config = tmp_path / "config.toml"
    env = write_config(config, {"src": src, "dst": dst}, '{ every = "1h" }', {})
    link = '[links.copy]\na = "src"\nb = "dst"\ndirection = "a_to_b"\nauthor = { b = "admin:1" }\n'
    config.write_text(config.read_text() + "\n" + link)
    before = dst.truth()
    service = ServiceProcess(config, env)
    try:
        service.wait_for(lambda body: all(c["runs"] == 1 for c in body["connections"]), 90)
        failed = service.wait_event("push.failed", timeout=30, count=2)
        assert failed["link"] == "copy"
        assert failed["error"].startswith(
            "PreflightError: links.copy.defaults.b.department: whmcs needs a department for new "
            "tickets; set it in the link's defaults; known: "
        )
        assert service.events("push.done") == []
        assert dst.truth() == before
    finally:
        service.kill()
