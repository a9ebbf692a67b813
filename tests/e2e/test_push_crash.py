"""SIGKILL a push and a migration at several points; reruns leave no duplicate and complete."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from sandbox_proc import DESKBRIDGE, SandboxProcess

pytestmark = pytest.mark.slow
MARKERS = """SELECT m, count(*) FROM (
    SELECT regexp_extract(coalesce(body, ''), '\\[deskbridge:[0-9a-f:]+\\]') AS m FROM notes
    WHERE connection = ? AND deleted_at IS NULL) WHERE m <> '' GROUP BY m HAVING count(*) > 1"""


def two_sandbox_config(
    tmp_path: Path, a: SandboxProcess, b: SandboxProcess, link: str
) -> tuple[Path, dict[str, str]]:
    env = dict(os.environ)
    parts = [f'[warehouse]\npath = "{tmp_path / "w.duckdb"}"\n']
    for name, box in (("src", a), ("dst", b)):
        creds = []
        for key, value in box.info["credentials"].items():
            env[f"PX_{name.upper()}_{key.upper()}"] = value
            creds.append(f'{key} = "env:PX_{name.upper()}_{key.upper()}"')
        parts.append(
            f'[connections.{name}]\ntype = "{box.vendor}"\nbase_url = "{box.info["base_url"]}"\n'
            f"credentials = {{ {', '.join(creds)} }}\nretry_backoff_s = 0.05\nconcurrency = 4\n"
            f'[connections.{name}.options]\nclosed_reconcile_every = "0s"\n'
        )
    parts.append(link)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(parts))
    return path, env


def kill_during(args: list[str], env: dict[str, str], log: Path, delay: float) -> None:
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [DESKBRIDGE, "--log-level", "info", "--log-json", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    deadline = time.monotonic() + 60
    while (
        b"sync.done" not in log.read_bytes() and proc.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.05)  # the pulls are done: what follows is the push
    time.sleep(delay)
    proc.kill()
    proc.wait()


def finish(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESKBRIDGE, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", ["push", "migrate"])
def test_sigkill_during_push_then_rerun_has_no_duplicates(tmp_path: Path, command: str) -> None:
    """Kills mid-push: the rerun links what landed (by marker) and writes the rest exactly once."""
    a, b = (
        SandboxProcess("kayako", "--tickets", "40"),
        SandboxProcess("kayako", "--tickets", "5", "--latency-ms", "30", "--seed", "9"),
    )
    try:
        link = (
            '[links.copy]\na = "src"\nb = "dst"\ndirection = "a_to_b"\nauthor = { b = "staff:1" }\n'
        )
        config, env = two_sandbox_config(tmp_path, a, b, link)
        args = (
            ["push", "-c", str(config)]
            if command == "push"
            else [
                "migrate",
                "--from",
                "src",
                "--to",
                "dst",
                "--author",
                "staff:1",
                "-c",
                str(config),
            ]
        )
        log = tmp_path / "run.log"
        for delay in (0.5, 1.5, 3.0):
            kill_during(args, env, log, delay)
        done = finish(args, env)
        assert done.returncode == 0, done.stdout + done.stderr
        again = finish(args, env)  # a second run pulls what the first wrote, then has nothing to do
        assert again.returncode == 0 and (
            "nothing to push" in again.stdout or "0 |" in again.stdout
        ), again.stdout
        truth = b.truth()
        con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            assert con.execute(MARKERS, ["dst"]).fetchall() == []
            linked = con.execute(
                "SELECT count(*) FROM crosswalk WHERE entity = 'tickets' AND state = 'linked'"
            ).fetchone()[0]
        finally:
            con.close()
        assert linked == 40
        assert len(truth["tickets"]) == 45  # 5 of its own + 40 copies, none twice
        bodies = [n["body"] for n in truth["notes"].values()]
        markers = [
            m
            for body in bodies
            for m in __import__("re").findall(r"\[deskbridge:[0-9a-f:]+\]", body)
        ]
        assert len(markers) == len(set(markers))
        exported = finish(
            ["links", "export", "--csv", "-o", str(tmp_path / "xw.csv"), "-c", str(config)], env
        )
        assert exported.returncode == 0, exported.stderr
        lines = (tmp_path / "xw.csv").read_text().splitlines()
        assert lines[0].startswith("link,entity,origin,origin_id,a_id,b_id,state,marker")
        assert (
            sum(1 for line in lines if line.startswith("copy,tickets,a,") and ",linked," in line)
            == 40
        )
    finally:
        a.stop()
        b.stop()
