"""How long the service waits after failed runs of a connection.

After a failed run the service waits ``Backoff.delay(failures)`` before the next attempt,
doubling with each failure in a row up to a cap; the wait is stored in ``service_state``
(:mod:`deskbridge.warehouse.service_state`). Only ``failed`` runs count
(:func:`deskbridge.warehouse.status.status_of`): an ``interrupted`` one (Ctrl-C, a shutdown) is
no failure, and a config error is raised before any run is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff after failed runs: ``base_s``, doubled per failure, at most ``max_s``."""

    base_s: float = 60.0
    max_s: float = 3600.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.base_s * 2 ** min(failures - 1, 40), self.max_s)

    def until(self, failures: int, ended_at: datetime | None) -> datetime | None:
        """No run before this, after ``failures`` in a row, the last ending at ``ended_at``."""
        if failures <= 0 or ended_at is None:
            return None
        return ended_at + timedelta(seconds=self.delay(failures))
