"""Help and version: what an operator reads before running anything."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from typing import Any

import typer.main
from typer.testing import CliRunner

from deskbridge.cli.app import app, hoist_global_options

RUN = CliRunner()


def test_version_prints_the_installed_version() -> None:
    """``deskbridge --version`` prints the package version and exits 0, without a config."""
    result = RUN.invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (
        0,
        f"deskbridge {metadata.version('deskbridge')}\n",
    )


def test_sandbox_help_lists_its_vendors() -> None:
    """``sandbox --help`` names every vendor it can serve."""
    result = RUN.invoke(app, ["sandbox", "--help"], env={"COLUMNS": "200"})
    assert "kayako, m4, omnidesk, trackit or whmcs" in result.output


def test_db_help_keeps_its_brackets() -> None:
    """The ``--db`` help of every command that has it says ``[warehouse] path`` (not eaten as markup)."""
    for command in (["sync"], ["status"], ["deletes", "list"], ["push"], ["query"]):
        result = RUN.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert "overrides [warehouse] path" in result.output, command


def _leaves(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    subs = getattr(command, "commands", None)
    if not subs:
        return [(path, command)]
    return [leaf for name, sub in subs.items() for leaf in _leaves(sub, [*path, name])]


def test_every_command_help_ends_with_an_example() -> None:
    """Each command's --help shows an example that names that very command."""
    for path, _ in _leaves(typer.main.get_command(app), []):
        result = RUN.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert f"Example: deskbridge {' '.join(path)}" in result.output, path


def test_global_options_work_after_the_command() -> None:
    """``--log-text``, ``--log-level`` and ``--debug`` are accepted after a subcommand too."""
    for tail in (["--log-text"], ["--log-level", "debug"], ["--log-level=info", "--debug"]):
        done = subprocess.run(
            [sys.executable, "-m", "deskbridge.cli", "connectors", *tail],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode, "kayako" in done.stdout) == (0, True), done.stderr


def test_hoisting_leaves_arguments_and_values_in_place() -> None:
    """Only the global options move; a ``--`` ends the search."""
    args = ["query", "SELECT 1", "--log-level", "info", "--csv", "--", "--debug"]
    assert hoist_global_options(args) == [
        "--log-level",
        "info",
        "query",
        "SELECT 1",
        "--csv",
        "--",
        "--debug",
    ]


def _words(text: str) -> list[str]:
    return text.replace("\\[", "[").replace("\b", " ").split()


def _written(command: Any) -> list[str]:
    texts = [command.help or "", command.epilog or ""]
    texts += [p.help or "" for p in command.params if getattr(p, "help", None)]
    return [w for text in texts for w in _words(text)]


def test_no_help_text_is_lost_to_markup() -> None:
    """Every word of every command's and option's help reaches ``--help`` (none eaten as markup)."""
    for path, command in _leaves(typer.main.get_command(app), []):
        result = RUN.invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
        shown = " ".join(result.output.replace("│", " ").split())
        lost = [w for w in _written(command) if w not in shown]
        assert lost == [], (path, lost)
