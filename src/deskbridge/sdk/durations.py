"""Durations in config: ``90``, ``"90s"``, ``"15m"``, ``"6h"`` or ``"1d"``."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int | float) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"6h"`` or ``"1d"``."""
    if isinstance(value, int | float):
        return float(value)
    match = DURATION.match(value.strip())
    if not match:
        raise ValueError(f"expected a duration like '15m', '6h' or '1d', got {value!r}")
    return int(match[1]) * UNITS[match[2]]


def _checked(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, AfterValidator(_checked)]
"""A config option holding a duration, checked when the config loads; kept as written."""
