"""Chaos runs against real sandboxes: SIGKILLs and vendor faults, then a count against ground truth.

    python benchmarks/chaos.py --vendors kayako,trackit,m4,omnidesk,whmcs --kills 10 --tickets 300 --seed 1

Per vendor, each scenario in its own directory with its own sandbox processes:

* pull: ``--kills`` plain syncs SIGKILLed at random points (seeded), data changed between some,
  then a sync left to complete;
* full-refresh: a completed sync, then ``--kills`` full refreshes SIGKILLed at random points, then
  plain syncs left to complete;
* faults: a first sync and a full refresh while 500, 502, 429, reset, truncated, malformed and
  HTML-200 answers are injected (``--faults`` of them), then plain syncs left to complete;
* migrate: ``--kills`` migrations into another vendor's sandbox (Kayako, or Track-It for Kayako)
  SIGKILLed at random points after the pulls, then a rerun left to complete;
* migrate-faults: one migration while the target answers with the same fault mix (a truncated or
  garbled body comes after the write has landed), then a rerun left to complete.

Then the warehouse is compared with the sandbox's ground truth (tickets, notes, time entries,
people): missing (in the vendor, no row at all), duplicated (extra rows for one key), wrong (a
field differs), wrongly deleted (marked deleted, but the vendor still has it), not deleted (live,
but the vendor no longer has it). For a migration the target's ground truth is counted instead:
source tickets with no twin (found by deskbridge's marker), duplicated = tickets the target gained
beyond one per twinned source ticket (marked or not) plus notes and time entries whose marker is
there twice, wrong = twins whose subject differs from the source's. "3/5 kills" means 5 SIGKILLs, 3 of which landed while the command
was still running (the others came after it had finished). A measurement tool, not a test: it
always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from deskbridge.push.markers import marker_for
from deskbridge.testing import TRUTH_FIELDS

EXE = shutil.which("deskbridge") or str(Path(sys.executable).with_name("deskbridge"))
# Small pages, so that a kill lands between checkpoints rather than before the first one.
PAGE = {
    "kayako": {"page_size": 40, "closed_reconcile_every": "0s"},
    "omnidesk": {"page_size": 20, "listing_page_size": 100},
    "whmcs": {"page_size": 25},
    "m4": {"reconcile_chunk": 25},
    "trackit": {"batch_size": 25, "closed_reconcile_every": "0s"},
}
LINK = "migrate_src_to_dst"  # the link deskbridge names for a migration between these connections
AUTHORS = {"kayako": "staff:1", "trackit": "technician:1"}
FAULTS = ("500", "502", "429", "reset", "truncated", "malformed", "html200")
MARKER = re.compile(r"\[deskbridge:[0-9a-f:ab2]+\]")  # [deskbridge:<link>:a2b:<record>]
Truth = dict[str, dict[str, dict[str, Any]]]
LIVE: list[subprocess.Popen[Any]] = []  # every child still running, stopped on the way out


@dataclass
class Outcome:
    vendor: str
    scenario: str
    chaos: str
    counts: Counter[str] = field(default_factory=Counter)
    completed: bool = False
    seconds: float = 0.0


class Sandbox:
    def __init__(self, vendor: str, tickets: int, latency_ms: float, seed: int) -> None:
        args = [
            "sandbox",
            vendor,
            "--json",
            "--port",
            "0",
            "--tickets",
            str(tickets),
            "--latency-ms",
            str(latency_ms),
            "--seed",
            str(seed),
        ]
        self.proc = subprocess.Popen(
            [EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        LIVE.append(self.proc)
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]
        self.vendor = vendor

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx.request(method, f"{self.info['admin_url']}/{path}", timeout=60, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def truth(self) -> Truth:
        return self.admin("GET", "truth")

    def connection(self, name: str, env: dict[str, str], **options: Any) -> str:
        """The ``[connections.<name>]`` block for this sandbox; credentials go into ``env``."""
        creds = []
        for key, value in self.info["credentials"].items():
            env[f"CHAOS_{name.upper()}_{key.upper()}"] = value
            creds.append(f'{key} = "env:CHAOS_{name.upper()}_{key.upper()}"')
        opts = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
        return (
            f'[connections.{name}]\ntype = "{self.vendor}"\nbase_url = "{self.info["base_url"]}"\n'
            f"credentials = {{ {', '.join(creds)} }}\nretry_backoff_s = 0.05\n\n[connections.{name}.options]\n{opts}\n"
        )

    def stop(self) -> None:
        stop(self.proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in LIVE:
        LIVE.remove(proc)


class Run:
    """One scenario's directory, config and log; starts deskbridge commands and kills them."""

    def __init__(self, workdir: Path, boxes: dict[str, Sandbox]) -> None:
        self.dir, self.env, self.log = workdir, dict(os.environ), workdir / "run.log"
        self.kills = self.landed = 0
        self.span = 0.0  # seconds the last completed command took, to aim kills inside the next
        blocks = [
            box.connection(name, self.env, **PAGE.get(box.vendor, {}))
            for name, box in boxes.items()
        ]
        self.config = workdir / "config.toml"
        self.config.write_text(
            f'[warehouse]\npath = "{workdir / "warehouse.duckdb"}"\n\n' + "".join(blocks)
        )

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        self.log.write_bytes(b"")
        with self.log.open("ab") as sink:
            proc = subprocess.Popen(
                [EXE, "--log-level", "info", "--log-json", *args, "-c", str(self.config)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        LIVE.append(proc)
        return proc

    def wait(self, proc: subprocess.Popen[bytes], timeout: float = 900) -> int:
        try:
            return proc.wait(timeout=timeout)
        finally:
            stop(proc)

    def kill_after(self, args: list[str], event: bytes, delay: float) -> None:
        """Start a command, wait for ``event`` in its log, let it work ``delay`` seconds, SIGKILL it;
        counts the kills that landed mid-run (the command had not finished on its own)."""
        proc = self.start(*args)
        deadline = time.monotonic() + 120
        while (
            event not in self.log.read_bytes()
            and proc.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(delay)
        self.kills += 1
        self.landed += proc.poll() is None
        proc.kill()
        self.wait(proc)

    def complete(self, *args: str, tries: int = 3) -> bool:
        """Run a command until it succeeds, at most ``tries`` times."""
        for _ in range(tries):
            started = time.monotonic()
            if self.wait(self.start(*args)) == 0:
                self.span = time.monotonic() - started
                return True
        return False


def compare_pull(db: Path, connection: str, truth: Truth) -> Counter[str]:
    counts: Counter[str] = Counter()
    con = duckdb.connect(str(db), read_only=True)
    try:
        for entity, fields in TRUTH_FIELDS.items():
            want = truth.get(entity, {})
            rows = con.execute(
                f"SELECT source_id, deleted_at IS NOT NULL, {', '.join(fields)} FROM {entity} WHERE connection = ?",
                [connection],
            ).fetchall()
            seen = Counter(r[0] for r in rows)
            counts["duplicated"] += sum(n - 1 for n in seen.values())
            counts["missing"] += len(set(want) - set(seen))
            for sid, deleted, *values in rows:
                if sid not in want:
                    counts["not deleted"] += not deleted
                elif deleted:
                    counts["wrongly deleted"] += 1
                elif dict(zip(fields, values, strict=True)) != {
                    f: want[sid].get(f) for f in fields
                }:
                    counts["wrong"] += 1
    finally:
        con.close()
    return counts


def compare_migration(source: Truth, before: Truth, after: Truth, link: str) -> Counter[str]:
    """Source tickets against the tickets the target gained; twins found by deskbridge's marker."""
    counts: Counter[str] = Counter()
    texts = [(n["ticket_id"], n.get("body") or "") for n in after["notes"].values()]
    texts += [(t["ticket_id"], t.get("note") or "") for t in after.get("time_entries", {}).values()]
    marked = Counter(m for _, text in texts for m in set(MARKER.findall(text)))
    holders: dict[str, set[str]] = {}
    for ticket_id, text in texts:
        for m in MARKER.findall(text):
            holders.setdefault(m, set()).add(ticket_id)
    twinned = 0
    for sid, ticket in source["tickets"].items():
        twins = holders.get(marker_for(link, "tickets", "a", sid), set())
        twinned += bool(twins)
        counts["missing"] += not twins
        if ticket.get("subject"):  # M4 has none: its copies get a placeholder
            counts["wrong"] += sum(
                after["tickets"].get(t, {}).get("subject") != ticket["subject"] for t in twins
            )
    gained = len(set(after["tickets"]) - set(before["tickets"]))
    ticket_markers = {marker_for(link, "tickets", "a", sid) for sid in source["tickets"]}
    children = sum(n - 1 for m, n in marked.items() if m not in ticket_markers)
    counts["duplicated"] = (
        gained - twinned + children
    )  # extra tickets, marked or not; notes and times twice
    return counts


def delays(rng: random.Random, n: int, longest: float) -> list[float]:
    return [round(rng.uniform(0.05, max(longest, 0.5)), 2) for _ in range(n)]


def pull(run: Run, box: Sandbox, rng: random.Random, args: argparse.Namespace) -> bool:
    for delay in delays(rng, args.kills, args.max_delay):
        if rng.random() < 0.5:
            box.admin("POST", "mutate", params={"n": rng.randint(5, 30)})
        run.kill_after(["sync"], b"sync.start", delay)
    return run.complete("sync")


def full_refresh(run: Run, box: Sandbox, rng: random.Random, args: argparse.Namespace) -> bool:
    run.complete("sync")
    for delay in delays(
        rng, args.kills, run.span * 0.8
    ):  # a full refresh reads what the first sync read
        if rng.random() < 0.5:
            box.admin("POST", "mutate", params={"n": rng.randint(5, 30)})
        run.kill_after(["sync", "--full-refresh"], b"sync.start", delay)
    return run.complete("sync") and run.complete("sync")


def faults(run: Run, box: Sandbox, rng: random.Random, args: argparse.Namespace) -> bool:
    """A first sync, then changes and a full refresh, both while faults are injected one by one."""
    plan = [rng.choice(FAULTS) for _ in range(args.faults)]
    for command, share in (
        (["sync"], plan[: len(plan) // 2]),
        (["sync", "--full-refresh"], plan[len(plan) // 2 :]),
    ):
        proc = run.start(*command)
        for kind in share:
            time.sleep(rng.uniform(0.05, 0.4))
            box.admin("POST", "fault", params={"kind": kind, "count": 1})
        run.wait(proc)
        box.admin("POST", "mutate", params={"n": 20})
    return run.complete("sync") and run.complete("sync")


def migrate_into(vendor: str) -> str:
    return "trackit" if vendor == "kayako" else "kayako"


def scenario(name: str, vendor: str, args: argparse.Namespace, rng: random.Random) -> Outcome:
    migration = name.startswith("migrate")
    label = f"{name} -> {migrate_into(vendor)}" if migration else name
    outcome = Outcome(vendor, label, f"{args.faults} faults")
    started = time.monotonic()
    boxes = {"src": Sandbox(vendor, args.tickets, args.latency_ms, args.seed)}
    if migration:
        boxes["dst"] = Sandbox(migrate_into(vendor), 5, args.latency_ms, args.seed + 100)
    try:
        with tempfile.TemporaryDirectory(prefix=f"chaos-{vendor}-{name}-") as tmp:
            run = Run(Path(tmp), boxes)
            if migration:
                outcome.completed, outcome.counts = MIGRATIONS[name](run, boxes, rng, args)
            else:
                outcome.completed = PULLS[name](run, boxes["src"], rng, args)
                outcome.counts = compare_pull(
                    run.dir / "warehouse.duckdb", "src", boxes["src"].truth()
                )
            if run.kills:
                outcome.chaos = f"{run.landed}/{run.kills} kills"
    finally:
        for box in boxes.values():
            box.stop()
    outcome.seconds = time.monotonic() - started
    return outcome


def migrate(
    run: Run, boxes: dict[str, Sandbox], rng: random.Random, args: argparse.Namespace
) -> tuple[bool, Counter[str]]:
    before = boxes["dst"].truth()
    command = migration_command(run, boxes["dst"].vendor)
    for delay in delays(rng, args.kills, args.max_delay):
        run.kill_after(command, b"sync.done", delay)  # the first pull is done: the push is near
    done = run.complete(*command, tries=1)
    return done, compare_migration(boxes["src"].truth(), before, boxes["dst"].truth(), LINK)


def migrate_faults(
    run: Run, boxes: dict[str, Sandbox], rng: random.Random, args: argparse.Namespace
) -> tuple[bool, Counter[str]]:
    """A migration while the target answers with faults, among them bodies cut after the write landed."""
    before = boxes["dst"].truth()
    command = migration_command(run, boxes["dst"].vendor)
    proc = run.start(*command)
    while b"sync.done" not in run.log.read_bytes() and proc.poll() is None:
        time.sleep(0.05)
    for kind in (rng.choice(FAULTS) for _ in range(args.faults)):
        time.sleep(rng.uniform(0.05, 0.3))
        boxes["dst"].admin("POST", "fault", params={"kind": kind, "count": 1})
    run.wait(proc)
    done = run.complete(*command, tries=1)
    return done, compare_migration(boxes["src"].truth(), before, boxes["dst"].truth(), LINK)


def migration_command(run: Run, target: str) -> list[str]:
    return [
        "migrate",
        "--from",
        "src",
        "--to",
        "dst",
        "--author",
        AUTHORS[target],
        "--report",
        str(run.dir / "report.md"),
    ]


PULLS = {"pull": pull, "full-refresh": full_refresh, "faults": faults}
MIGRATIONS = {"migrate": migrate, "migrate-faults": migrate_faults}
COLUMNS = ("missing", "duplicated", "wrong", "wrongly deleted", "not deleted")


def print_table(outcomes: list[Outcome]) -> None:
    head = (
        f"{'vendor':<9} {'scenario':<26} {'kills/faults':<12} "
        + " ".join(f"{c:>15}" for c in COLUMNS)
        + f" {'completed':>9} {'seconds':>8}"
    )
    print(head)
    print("-" * len(head))
    for o in outcomes:
        cells = " ".join(
            f"{('-' if o.scenario.startswith('migrate') and c in COLUMNS[3:] else o.counts[c]):>15}"
            for c in COLUMNS
        )
        print(
            f"{o.vendor:<9} {o.scenario:<26} {o.chaos:<12} {cells} {('yes' if o.completed else 'NO'):>9} {o.seconds:8.1f}"
        )


def summary(outcomes: list[Outcome]) -> str:
    total = sum((o.counts for o in outcomes), Counter())
    bad = [o for o in outcomes if not o.completed or any(o.counts[c] for c in COLUMNS)]
    figures = ", ".join(f"{c} {total[c]}" for c in COLUMNS)
    if not outcomes:
        return "chaos: no scenario finished"
    verdict = (
        "all equal to ground truth" if not bad else f"{len(bad)} with differences or not completed"
    )
    return f"chaos: {len(outcomes)} scenarios, {verdict} ({figures})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", default="kayako,trackit,m4,omnidesk,whmcs")
    parser.add_argument("--scenarios", default="pull,full-refresh,faults,migrate,migrate-faults")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per scenario")
    parser.add_argument("--faults", type=int, default=20, help="faults injected in the fault mix")
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument(
        "--max-delay",
        type=float,
        default=3.0,
        help="longest wait before a kill of a pull or a migration, seconds (a full refresh is killed within the time a full sync took)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: list[Outcome] = []
    try:
        for vendor in args.vendors.split(","):
            for name in args.scenarios.split(","):
                outcomes.append(scenario(name, vendor, args, rng))
                print(
                    f"  {vendor} {name}: {dict(outcomes[-1].counts)} in {outcomes[-1].seconds:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted: figures so far", file=sys.stderr)
    finally:
        for proc in list(LIVE):
            stop(proc)
    print_table(outcomes)
    print(summary(outcomes))


if __name__ == "__main__":
    main()
