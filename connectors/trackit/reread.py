"""Re-reading Track-It! tickets now: each ticket with all its children, whatever its hash."""

from __future__ import annotations

from deskbridge.sdk import Batch

from .client import TrackitClient
from .loader import Loader
from .people import PeopleTracker


async def read_tickets(client: TrackitClient, ticket_ids: list[str]) -> Batch:
    """These tickets with all their children, now; the ones the server no longer has, deleted."""
    loader = Loader(client, PeopleTracker(), hashes={}, known=set(ticket_ids), force_children=True)
    return loader.batch(await loader.load_all(int(i) for i in ticket_ids))
