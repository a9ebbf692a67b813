"""The operator's views through the real CLI over a loopback sandbox: runs, status, check, config, query."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The sandbox helper lives with the end-to-end tests; this module runs on its own under xdist.
sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from sandbox_proc import DESKBRIDGE, SandboxProcess

pytestmark = pytest.mark.slow

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
SPAN = re.compile(r"^(\d+\.\d s|\d+ (d|h|min|s)( \d+ (h|min|s))?)$")


class Synced:
    """A config, its environment and a warehouse with one good run and one failed run."""

    def __init__(self, tmp: Path, sandbox: SandboxProcess) -> None:
        self.config = tmp / "config.toml"
        self.env = sandbox.write_config(self.config, "support", closed_reconcile_every="0s")
        self.env["COLUMNS"] = "120"
        self.secret = self.env["E2E_SUPPORT_SECRET_KEY"]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DESKBRIDGE, *args, "-c", str(self.config)],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    sandbox = SandboxProcess("kayako", "--tickets", "20")
    try:
        s = Synced(tmp_path_factory.mktemp("views"), sandbox)
        assert s.run("sync").returncode == 0
        failed = s.run("sync", E2E_SUPPORT_SECRET_KEY="wrong-secret-here")
        assert failed.returncode == 1
        yield s
    finally:
        sandbox.stop()


def rows(output: str, title: str | None = None) -> list[list[str]]:
    """The body rows of the rich table titled ``title`` (else the first) as cells; wrapped lines joined."""
    lines = output.splitlines()
    start = lines.index(title) if title else 0
    start = next(i for i in range(start, len(lines)) if lines[i].startswith("┡"))
    body: list[list[str]] = []
    for line in lines[start + 1 :]:
        if not line.startswith("│"):
            break
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if body and not cells[0]:
            body[-1] = [" ".join(filter(None, pair)) for pair in zip(body[-1], cells, strict=True)]
        else:
            body.append(cells)
    return body


def shape(cells: list[str]) -> list[str]:
    """Times and durations replaced by ``<time>`` and ``<span>`` (they differ per run)."""
    return ["<time>" if TIME.match(c) else "<span>" if SPAN.match(c) else c for c in cells]


def test_runs_lists_both_runs_with_counts_and_first_error_line(synced: Synced) -> None:
    """`runs support` lists the failed run above the good one: rows written, requests, error line."""
    out = synced.run("runs", "support")
    assert out.returncode == 0, out.stderr
    [failed, good] = [shape(r) for r in rows(out.stdout, "Runs")]
    assert good == ["1", "support", "success", "<time>", "<span>", "142", "0", "28", ""]
    assert failed[:7] == ["2", "support", "failed", "<time>", "<span>", "0", "0"]
    assert failed[8].startswith("AuthError")
    assert all(len(line) <= 120 for line in out.stdout.splitlines())


def test_runs_show_has_streams_requests_and_the_full_error(synced: Synced) -> None:
    """`runs show 1` gives per-stream rows and requests by kind; `runs show 2` the whole error."""
    out = synced.run("runs", "show", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Run 1: support, success\nstarted ")
    assert rows(out.stdout, "Rows") == [
        ["notes", "71", "71", "0"],
        ["people", "35", "35", "0"],
        ["tickets", "20", "20", "0"],
        ["time_entries", "16", "16", "0"],
    ]
    assert rows(out.stdout, "Requests") == [
        ["incremental", "28"],
        ["reconcile", "0"],  # a first sync walks everything: no reconcile listing
        ["write", "0"],
    ]
    failed = synced.run("runs", "show", "2")
    error = failed.stdout.split("Error:\n", 1)[1].strip()
    assert error.startswith("AuthError") and "FAILED TO AUTHENTICATE" in error
    assert "wrong-secret-here" not in failed.stdout


def test_runs_show_unknown_id_is_one_line(synced: Synced) -> None:
    """An unknown run id is a one-line error naming the command that lists runs."""
    out = synced.run("runs", "show", "99")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == "error: no run 99; 'deskbridge runs' lists them\n"


def test_status_name_shows_ages_not_epoch_floats(synced: Synced) -> None:
    """`status support`: one connection, cursor positions as ages, nothing wider than 120 columns."""
    out = synced.run("status", "support")
    assert out.returncode == 0, out.stderr
    [conn] = rows(out.stdout, "Connections")
    assert shape(conn[:2] + conn[3:]) == ["support", "failed", "1", "-"]
    assert SPAN.match(conn[2].removesuffix(" ago"))
    assert rows(out.stdout, "Rows") == [["support", "20", "71", "16", "35", "0"]]
    cursors = {r[1]: r[2] for r in rows(out.stdout, "Cursors")}
    assert cursors["people"] == "max_user_id: 20"
    assert re.fullmatch(r"closed_reconciled_at: .+ ago, watermark: .+ ago", cursors["tickets"])
    assert [r[0] for r in rows(out.stdout, "Recent runs")] == ["2", "1"]
    assert all(len(line) <= 120 for line in out.stdout.splitlines())
    assert "…" not in out.stdout


def test_status_json_has_every_field(synced: Synced) -> None:
    """`status --json` parses and carries the status, counts, cursors and runs as stored."""
    out = synced.run("status", "--json")
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    [conn] = data["connections"]
    assert {
        k: conn[k] for k in ("connection", "last_status", "consecutive_failures", "last_run_id")
    } == {
        "connection": "support",
        "last_status": "failed",
        "consecutive_failures": 1,
        "last_run_id": 2,
    }
    assert conn["counts"] == {
        "tickets": 20,
        "notes": 71,
        "time_entries": 16,
        "people": 35,
        "attachments": 0,
    }
    assert conn["lag_s"] > 0 and conn["last_error"].startswith("AuthError")
    assert [c["stream"] for c in conn["cursors"]] == ["people", "tickets"]
    assert conn["cursors"][0]["state"] == {"max_user_id": 20}
    [failed, good] = data["runs"]
    assert (failed["run_id"], failed["status"], failed["reconcile_requests"]) == (2, "failed", 0)
    assert (good["run_id"], good["requests"], good["reconcile_requests"]) == (1, 28, 0)
    assert failed["error"] == conn["last_error"] and good["duration_s"] > 0
    assert good["counts"]["tickets.changed"] == 20
    assert data["held_deletions"] == [] and data["links"] == []


def test_check_name_and_unknown_name(synced: Synced) -> None:
    """`check support` checks that connection; an unknown name is a one-line error."""
    out = synced.run("check", "support")
    assert out.returncode == 0, out.stderr
    [[name, kind, result]] = rows(out.stdout)
    assert (name, kind, result.split()[0]) == ("support", "kayako", "ok")
    bad = synced.run("check", "nope")
    assert (bad.returncode, bad.stderr) == (
        2,
        "error: unknown connection 'nope'; configured: support\n",
    )


def test_config_show_applies_env_and_hides_secrets(synced: Synced) -> None:
    """`config show`: a DESKBRIDGE_* override applies; secrets show as env: references only."""
    out = synced.run("config", "show", "--json", DESKBRIDGE_WAREHOUSE__MEMORY_LIMIT="1GB")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["warehouse"]["memory_limit"] == "1GB"
    assert data["connections"]["support"]["credentials"] == {
        "api_key": "env:E2E_SUPPORT_API_KEY",
        "secret_key": "env:E2E_SUPPORT_SECRET_KEY",
    }
    table = synced.run("config", "show", DESKBRIDGE_WAREHOUSE__MEMORY_LIMIT="1GB")
    body = dict(rows(table.stdout, "Effective configuration"))
    assert body["warehouse.memory_limit"] == '"1GB"'
    assert body["connections.support.credentials.secret_key"] == '"env:E2E_SUPPORT_SECRET_KEY"'
    assert synced.secret not in out.stdout + table.stdout


QUERY = "SELECT status_category, count(*) AS n FROM tickets GROUP BY ALL ORDER BY 1"


def _expected(synced: Synced) -> list[tuple[str, int]]:
    out = synced.run("query", QUERY, "--json")
    return [(r["status_category"], r["n"]) for r in json.loads(out.stdout)]


def test_query_in_three_formats(synced: Synced) -> None:
    """`query` answers as a table, as CSV and as JSON, the same rows each time."""
    answer = _expected(synced)
    assert sum(n for _, n in answer) == 20
    table = synced.run("query", QUERY)
    assert rows(table.stdout) == [[s, str(n)] for s, n in answer]
    csv = synced.run("query", QUERY, "--csv")
    assert csv.stdout == "status_category,n\n" + "".join(f"{s},{n}\n" for s, n in answer)


def test_query_bad_sql_and_writes_are_one_line(synced: Synced) -> None:
    """Bad SQL and a write both end in one line on stderr, exit 1, nothing changed."""
    bad = synced.run("query", "SELEC 1")
    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr.startswith('error: query: Parser Error: syntax error at or near "SELEC"')
    assert bad.stderr.count("\n") == 1
    write = synced.run("query", "DELETE FROM tickets")
    assert write.returncode == 1 and write.stderr.count("\n") == 1
    assert "read-only" in write.stderr
    assert _expected(synced) and sum(n for _, n in _expected(synced)) == 20


def test_query_with_db_needs_no_config(synced: Synced, tmp_path: Path) -> None:
    """The demo's closing hint, `query --db FILE`, works in a directory without config.toml."""
    db = str(synced.config.parent / "warehouse.duckdb")
    out = subprocess.run(
        [DESKBRIDGE, "query", "--db", db, "--csv", "SELECT count(*) AS n FROM tickets"],
        cwd=tmp_path,
        env=synced.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, "n\n20\n", "")
