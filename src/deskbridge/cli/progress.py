"""The live progress line of a sync: records read, against the vendor's total, with rate and ETA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

Report = Callable[[str, int, int | None], None]


class CountColumn(ProgressColumn):
    """``1,200/3,000 tickets``, or ``1,200 tickets`` while the vendor gave no total."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "records")
        if task.total is None:
            return Text(f"{int(task.completed):,} {unit}")
        return Text(f"{int(task.completed):,}/{int(task.total):,} {unit}")


class RateColumn(ProgressColumn):
    """Records per second over rich's recent window."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "–/s", style="progress.data.speed")


class EtaColumn(TimeRemainingColumn):
    """Time left where a total is known; nothing where it is not (rich would print ``-:--:--``)."""

    def render(self, task: Task) -> Text:
        return super().render(task) if task.total is not None else Text("")


def columns() -> tuple[ProgressColumn, ...]:
    return (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        CountColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        EtaColumn(),
    )


@contextmanager
def sync_progress(console: Console, name: str, vendor: str) -> Iterator[Report]:
    """A progress line for one connection's run, live on a terminal, silent otherwise."""
    with Progress(
        *columns(), console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(f"{name} ({vendor})", total=None, unit="tickets")

        def report(stream: str, done: int, total: int | None) -> None:
            if bar.tasks[0].fields.get("stream") != stream:
                bar.reset(task, total=total)  # a new pass: its rate and ETA start afresh
            bar.update(
                task, description=f"{name}: {stream}", completed=done, total=total, stream=stream
            )

        yield report
