"""``GET /``: a small read-only status page, plain HTML with inline CSS and an inline SVG chart.

Every value is escaped; the page loads nothing from elsewhere (no script, no CDN).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from html import escape
from typing import Any

from deskbridge.service.metrics import State
from deskbridge.warehouse.status import RunRecord

CSS = (
    "body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}"
    "table{border-collapse:collapse;margin:8px 0 24px}th,td{border:1px solid #ccc;"
    "padding:4px 8px;text-align:left}th{background:#e8eef6}.failed,.interrupted{color:#b00}"
    ".success{color:#070}svg{background:#fff;border:1px solid #ccc}"
)


def render(state: State, now: datetime | None = None) -> str:
    """The whole page for the current ``state``."""
    now = now or datetime.now(UTC)
    sections = [
        "<h1>deskbridge</h1>",
        f"<p>As of {_e(_when(now))}</p>",
        "<h2>Connections</h2>",
        _connections(state, now),
        "<h2>Links</h2>",
        _links(state),
        "<h2>Open tickets per day</h2>",
        backlog_svg(state.figures.backlog),
        "<h2>Recent runs</h2>",
        _recent(state.figures.recent),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>deskbridge status</title><style>{CSS}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )


def _connections(state: State, now: datetime) -> str:
    rows = []
    for c in state.connections:
        lag = (now - c.last_success_at).total_seconds() if c.last_success_at else None
        rows.append(
            [
                c.connection,
                c.vendor,
                _cell(c.last_status, c.last_status or ""),
                _when(c.last_ended_at),
                _duration(lag),
                _when(c.next_run_at),
                str(c.consecutive_failures),
                _when(c.backoff_until),
                c.last_error or "",
            ]
        )
    head = ("connection", "vendor", "last run", "ended", "lag", "next run", "failures")
    return _table((*head, "backoff until", "last error"), rows)


def _links(state: State) -> str:
    rows = [
        [
            f.link,
            f"{f.a} ↔ {f.b}",
            (f.last_status or "never", f.last_status or "never"),
            str(f.pending),
            str(f.writes),
            str(f.failures),
            str(f.skips),
            f.last_error or "",
        ]
        for f in state.figures.links.values()
    ]
    head = ("link", "sides", "last push", "pending", "writes", "failed", "skipped", "last error")
    return _table(head, rows)


def _recent(runs: list[RunRecord]) -> str:
    rows = [
        [
            str(r.run_id),
            r.connection,
            _cell(r.status, r.status),
            _when(r.started_at),
            _when(r.ended_at),
            str(r.requests),
            str(r.reconcile_requests),
            r.error or "",
        ]
        for r in runs
    ]
    head = ("run", "connection", "status", "started", "ended", "requests", "reconcile", "error")
    return _table(head, rows)


def _cell(value: str | None, css: str) -> tuple[str, str]:
    return (value or "never", css)


def _table(head: Iterable[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p>None yet.</p>"
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _td(value: str | tuple[str, str]) -> str:
    if isinstance(value, tuple):
        return f'<td class="{_e(value[1])}">{_e(value[0])}</td>'
    return f"<td>{_e(value)}</td>"


def backlog_svg(days: list[tuple[date, int]], width: int = 720, height: int = 200) -> str:
    """Bars of open tickets per day, each with its count as a tooltip and the day below."""
    top = max((n for _, n in days), default=0) or 1
    step = width / max(len(days), 1)
    bars = []
    for i, (day, n) in enumerate(days):
        h = (height - 40) * n / top
        x, y = i * step + 4, height - 20 - h
        label = f"{day.isoformat()}: {n} open"
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step - 8:.1f}" height="{h:.1f}" '
            f'fill="#4a78b0"><title>{_e(label)}</title></rect>'
            f'<text x="{x + (step - 8) / 2:.1f}" y="{height - 6}" font-size="10" '
            f'text-anchor="middle">{_e(day.strftime("%m-%d"))}</text>'
            f'<text x="{x + (step - 8) / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
            f'text-anchor="middle">{n}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="open tickets per day">{"".join(bars)}</svg>'
    )


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h {s % 3600 // 60}m"


def _e(value: object) -> str:
    return escape(str(value), quote=True)
