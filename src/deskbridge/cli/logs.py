"""structlog set-up: human-readable on a terminal, JSON lines otherwise; secrets scrubbed."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from deskbridge.sdk.redact import sanitize_url, scrub


def _scrub_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = scrub(sanitize_url(value) if key == "url" else value)
    return event


def configure(level: str = "info", json: bool | None = None, stream: Any = None) -> None:
    """Configure structlog once per process."""
    as_json = (not (stream or sys.stderr).isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # resolve sys.stderr per logger, not once: it may be replaced (tests, daemons)
        logger_factory=(lambda *_: structlog.PrintLogger(stream or sys.stderr)),
        cache_logger_on_first_use=False,
    )
