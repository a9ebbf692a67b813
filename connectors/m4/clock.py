""".NET timestamps of the M4 web API, read and written in the server's time zone.

M4 writes two forms (Json.NET's ``yyyy-MM-ddTHH:mm:ss.FFFFFFFK``): stored values without an
offset, server-local wall-clock time with trailing fractional zeros trimmed
(``2019-02-04T10:28:44.207``), and values echoed by writes with 7 fractional digits and the
server's offset (``2017-11-20T11:33:34.0299526-05:00``). The server's zone is a setting of the
installation, so it is a connector option.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?\Z"
)
_OFFSET = re.compile(r"(?:UTC)?([+-])(\d{2}):?(\d{2})\Z")


def parse_zone(name: str) -> tzinfo:
    """A zone from ``"-05:00"``, ``"UTC"`` or an IANA name like ``"America/Chicago"``."""
    text = name.strip()
    if text.upper() in ("UTC", "Z"):
        return UTC
    fixed = _OFFSET.match(text)
    if fixed:
        sign, hours, minutes = fixed.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; give an offset like '-05:00' or an IANA name"
        ) from None


class ServerClock:
    """Converts between M4 timestamps and UTC, for one server time zone."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone

    def to_utc(self, text: str | None) -> datetime | None:
        """UTC of an M4 timestamp; one without an offset is server-local time."""
        if not text:
            return None
        found = _TS.match(text.strip())
        if not found:
            raise ValueError(f"not an M4 timestamp: {text!r}")
        y, mo, d, h, mi, s, frac, zone = found.groups()
        micro = int((frac or "0").ljust(7, "0")) // 10  # .NET ticks are 100 ns
        local = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro)
        return local.replace(tzinfo=_zone_of(zone) if zone else self.zone).astimezone(UTC)

    def format(self, moment: datetime) -> str:
        """``moment`` as the server's local time with its offset, as the vendor samples."""
        local = moment.astimezone(self.zone)
        text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0"
        offset = local.strftime("%z")
        return f"{text}{offset[:3]}:{offset[3:]}"


def _zone_of(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    return parse_zone(text)
