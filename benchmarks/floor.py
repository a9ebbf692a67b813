"""The floor a sync is measured against: the same kind of requests, nothing but the essentials.

    python benchmarks/floor.py omnidesk BASE_URL DB_PATH --concurrency 8   (credentials: env)

Omnidesk: the ticket list in pages of 5,000, then GET item for every ticket, ``concurrency``
at a time over one ``httpx.AsyncClient``, each body decoded with orjson. Kayako: the requests of
a full sync: the four lookups and the count cache, staff, users in pages of 1,000, ``ListAll``
in pages of 500, every ticket's posts, then the open-ticket reconcile's ``ListAll`` over the
unresolved statuses; each signed and parsed with lxml. Then every ticket goes into DuckDB in one
Arrow insert. No retries, validation, mapping
or checkpoints: what is left is the cost any client pays for these requests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from typing import Any

import duckdb
import httpx
import orjson
import pyarrow as pa
from lxml import etree

Record = dict[str, Any]


async def omnidesk(client: httpx.AsyncClient, slots: asyncio.Semaphore) -> list[Record]:
    key = {"apiKey": os.environ["BENCH_API_KEY"]}
    ids, start = [], 0
    while True:
        params = {"itemStart": start, "itemLimit": 5000, "searchArchived": "yes", **key}
        page = orjson.loads((await client.get("/api/v2/ticket", params=params)).content)
        ids += [t["id"] for t in page["list"]]
        start += len(page["list"])
        if not page["list"] or start >= page["total"]:
            break

    async def item(ticket_id: Any) -> Record:
        async with slots:
            body = (await client.get(f"/api/v2/ticket/{ticket_id}", params=key)).content
        item = orjson.loads(body)["item"]
        return item | {"timeline": orjson.dumps(item.get("timeline", [])).decode()}

    return list(await asyncio.gather(*map(item, ids)))


def _signed(route: str) -> dict[str, str]:
    salt = secrets.token_hex(16)
    digest = hmac.new(os.environ["BENCH_SECRET_KEY"].encode(), salt.encode(), hashlib.sha256)
    signature = base64.b64encode(digest.digest()).decode()
    return {"e": route, "apikey": os.environ["BENCH_API_KEY"], "salt": salt, "signature": signature}


async def _xml(client: httpx.AsyncClient, route: str) -> Any:
    response = await client.get("/api/index.php", params=_signed(route))
    return etree.fromstring(response.content, etree.XMLParser(resolve_entities=False))


def _record(el: Any) -> Record:
    return dict(el.attrib) | {child.tag: child.text or "" for child in el if not len(child)}


async def _listing(client: httpx.AsyncClient, ids: str, statuses: str, sort: str) -> list[Record]:
    """Every ticket of ``ListAll`` over these departments and statuses, in pages of 500."""
    tickets: list[Record] = []
    while True:
        route = f"/Tickets/Ticket/ListAll/{ids}/{statuses}/-1/-1/500/{len(tickets)}/{sort}"
        page = [_record(t) for t in await _xml(client, route)]
        tickets += page
        if len(page) < 500:
            return tickets


async def kayako(client: httpx.AsyncClient, slots: asyncio.Semaphore) -> list[Record]:
    routes = ("/Base/Department", "/Tickets/TicketStatus", "/Tickets/TicketPriority")
    lookups = await asyncio.gather(
        *(_xml(client, r) for r in (*routes, "/Tickets/TicketType", "/Tickets/TicketCount"))
    )
    departments = ",".join(_record(d)["id"] for d in lookups[0])
    statuses = [_record(s) for s in lookups[1]]
    people = [_record(s) for s in await _xml(client, "/Base/Staff")]
    next_user = 1
    while True:
        page = [_record(u) for u in await _xml(client, f"/Base/User/Filter/{next_user}/1000")]
        people += page
        if len(page) < 1000:
            break
        next_user = max(int(u["id"]) for u in page) + 1
    tickets = await _listing(
        client, departments, ",".join(s["id"] for s in statuses), "lastactivity/DESC"
    )

    async def posts(ticket: Record) -> Record:
        async with slots:
            root = await _xml(client, f"/Tickets/TicketPost/ListAll/{ticket['id']}")
        return ticket | {"posts": orjson.dumps([_record(p) for p in root]).decode()}

    read = list(await asyncio.gather(*map(posts, tickets)))
    # the sync's open-ticket reconcile: one more listing, of the unresolved statuses
    unresolved = ",".join(s["id"] for s in statuses if s.get("markasresolved") != "1")
    await _listing(client, departments, unresolved, "ticketid/ASC")
    return read


async def run(vendor: str, base_url: str, concurrency: int) -> list[Record]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        read = {"omnidesk": omnidesk, "kayako": kayako}[vendor]
        return await read(client, asyncio.Semaphore(concurrency))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vendor", choices=["omnidesk", "kayako"])
    parser.add_argument("base_url")
    parser.add_argument("db")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    records = asyncio.run(run(args.vendor, args.base_url, args.concurrency))
    keys = sorted({k for r in records for k in r})
    table = pa.Table.from_pylist(
        [{k: None if (v := r.get(k)) is None else str(v) for k in keys} for r in records]
    )
    con = duckdb.connect(args.db)
    con.register("records", table)
    con.execute("CREATE TABLE tickets AS SELECT * FROM records")
    con.close()
    print(len(records))


if __name__ == "__main__":
    main()
