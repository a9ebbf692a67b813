"""A vendor sandbox in its own process, on a real loopback socket, as users run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

DESKBRIDGE = shutil.which("deskbridge") or str(Path(sys.executable).with_name("deskbridge"))


class SandboxProcess:
    def __init__(self, vendor: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [DESKBRIDGE, "sandbox", vendor, "--json", "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())
        self.vendor = vendor

    @property
    def admin(self) -> str:
        return self.info["admin_url"]

    def truth(self) -> dict[str, Any]:
        return httpx.get(f"{self.admin}/truth", timeout=30).json()

    def mutate(self, n: int) -> list[str]:
        return httpx.post(f"{self.admin}/mutate", params={"n": n}, timeout=30).json()["changes"]

    def fault(self, kind: str, count: int = 1) -> None:
        httpx.post(
            f"{self.admin}/fault", params={"kind": kind, "count": count}, timeout=10
        ).raise_for_status()

    def knobs(self, **values: Any) -> None:
        httpx.post(f"{self.admin}/knobs", json=values, timeout=10).raise_for_status()

    def write_config(self, path: Path, name: str, **options: Any) -> dict[str, str]:
        """A config.toml for this sandbox; returns the environment its credentials need."""
        env = dict(os.environ)
        creds = []
        for key, value in self.info["credentials"].items():
            var = f"E2E_{name.upper()}_{key.upper()}"
            env[var] = value
            creds.append(f'{key} = "env:{var}"')
        opts = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
        path.write_text(
            f'[warehouse]\npath = "{path.parent / "warehouse.duckdb"}"\n\n'
            f'[connections.{name}]\ntype = "{self.vendor}"\nbase_url = "{self.info["base_url"]}"\n'
            f"credentials = {{ {', '.join(creds)} }}\nretry_backoff_s = 0.05\n\n"
            f"[connections.{name}.options]\n{opts}"
        )
        return env

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
