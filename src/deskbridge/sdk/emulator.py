"""Shared parts of every vendor emulator: fault knobs, request counting, the admin plane.

A vendor emulator is an ASGI app faithful to its vendor's wire protocol. It subclasses
:class:`Emulator`, builds its routes in :meth:`Emulator.vendor_app`, and gets for free:

* knobs (:class:`Knobs`): injected latency, a request-rate limit (a token bucket) answered with
  429 and ``Retry-After``, a 500 on every n-th request, and one-shot faults queued by tests
  (``inject("html200")``, ``"malformed"``, ``"truncated"``, ``"500"``, ``"429"``, ``"401"``);
* a request counter per path (``requests``) that tests assert on;
* an admin plane under ``/__emulator__/`` for processes that run the emulator elsewhere
  (``deskbridge sandbox``, the demo, crash tests): ``GET truth``, ``POST mutate?n=``,
  ``POST knobs`` (JSON), ``POST fault?kind=&count=``, ``GET stats``.

The admin plane is not part of any vendor's API and is never used by connectors.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_PREFIX = "/__emulator__"
FAULT_KINDS = ("html200", "malformed", "truncated", "500", "502", "429", "401", "reset")
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service "
    b"your request due to maintenance downtime or capacity problems.</p></body></html>"
)


@dataclass
class Knobs:
    """Fault and speed settings of one emulator; all off by default."""

    latency_ms: float = 0.0
    # A token bucket, as a gateway in front of the helpdesk enforces it (no vendor here documents
    # a limit of its own, so the answer is the gateway's plain 429): rate_limit_per_s tokens a
    # second, at most rate_burst_s seconds' worth saved up; a request finding no token is
    # answered 429 with Retry-After (whole seconds, at least retry_after_s). 0 = unlimited.
    rate_limit_per_s: float = 0.0
    rate_burst_s: float = 1.0
    retry_after_s: int = 1
    fail_every_n: int = 0  # every n-th vendor request answers 500


@dataclass
class _Faults:
    queue: deque[str] = field(default_factory=deque)

    def pop(self) -> str | None:
        return self.queue.popleft() if self.queue else None


class Emulator(ABC):
    """Base of a vendor emulator. Subclasses own the data and the vendor routes."""

    vendor: str = ""

    def __init__(self, *, seed: int = 7, knobs: Knobs | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.knobs = knobs or Knobs()
        self.requests: Counter[str] = Counter()
        self._faults = _Faults()
        self._bucket = (0.0, -math.inf)  # tokens left, when counted
        self.throttled = 0  # requests the token bucket answered 429
        self._app: ASGIApp | None = None

    # -- what each vendor emulator provides -------------------------------------------
    @abstractmethod
    def vendor_app(self) -> ASGIApp:
        """The vendor's routes, as an ASGI app."""

    @abstractmethod
    def credentials(self) -> dict[str, str]:
        """What a client needs to authenticate, by config key (e.g. api_key, secret_key)."""

    @abstractmethod
    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms: ``{entity: {source_id: {field: value}}}``.

        Entities are ``tickets``, ``notes``, ``time_entries`` and ``people``; the source ids
        and fields are the ones the connector's canonical rows carry, so a test can compare
        the warehouse with this dump without going through the connector's mapping code.
        """

    @abstractmethod
    def mutate(self, n: int = 10) -> list[str]:
        """Change data as agents and customers would; returns one line per change."""

    # -- knobs --------------------------------------------------------------------------
    def inject(self, kind: str, count: int = 1) -> None:
        """Queue a one-shot fault for the next ``count`` vendor requests."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._faults.queue.extend([kind] * count)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def reset_counts(self) -> None:
        self.requests.clear()

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            self._app = _KnobsMiddleware(self, self.vendor_app(), self._admin_app())
        return self._app

    def _over_rate(self) -> int | None:
        """None when the token bucket lets this request through, else the Retry-After."""
        rate = self.knobs.rate_limit_per_s
        if rate <= 0:
            return None
        tokens, then = self._bucket
        now = time.monotonic()
        tokens = min(max(1.0, rate * self.knobs.rate_burst_s), tokens + (now - then) * rate)
        if tokens >= 1:
            self._bucket = (tokens - 1, now)
            return None
        self._bucket = (tokens, now)
        return max(self.knobs.retry_after_s, math.ceil((1 - tokens) / rate))

    # -- admin plane --------------------------------------------------------------------
    def _admin_app(self) -> Starlette:
        async def truth(_: Request) -> Response:
            return JSONResponse(self.ground_truth())

        async def mutate(request: Request) -> Response:
            n = int(request.query_params.get("n", "10"))
            return JSONResponse({"changes": self.mutate(n)})

        async def knobs(request: Request) -> Response:
            if request.method == "POST":
                for key, value in (await request.json()).items():
                    if not hasattr(self.knobs, key):
                        return JSONResponse({"error": f"unknown knob {key}"}, status_code=400)
                    setattr(self.knobs, key, type(getattr(self.knobs, key))(value))
            return JSONResponse(asdict(self.knobs))

        async def fault(request: Request) -> Response:
            kind = request.query_params.get("kind", "")
            try:
                self.inject(kind, int(request.query_params.get("count", "1")))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"queued": len(self._faults.queue)})

        async def stats(request: Request) -> Response:
            if request.method == "POST":
                self.reset_counts()
            return JSONResponse(
                {
                    "total": self.total_requests,
                    "by_path": dict(self.requests),
                    "throttled": self.throttled,
                }
            )

        return Starlette(
            routes=[
                Route("/truth", truth),
                Route("/mutate", mutate, methods=["POST"]),
                Route("/knobs", knobs, methods=["GET", "POST"]),
                Route("/fault", fault, methods=["POST"]),
                Route("/stats", stats, methods=["GET", "POST"]),
            ]
        )


class _KnobsMiddleware:
    """Routes admin calls, counts vendor calls, and applies latency, limits and faults."""

    def __init__(self, emulator: Emulator, vendor: ASGIApp, admin: ASGIApp) -> None:
        self.emulator, self.vendor, self.admin = emulator, vendor, admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.vendor(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            child = dict(scope, path=path[len(ADMIN_PREFIX) :] or "/", root_path="")
            await self.admin(child, receive, send)
            return
        emu = self.emulator
        emu.requests[path] += 1
        if emu.knobs.latency_ms:
            await asyncio.sleep(emu.knobs.latency_ms / 1000)
        wait = emu._over_rate()
        if wait is not None:
            emu.throttled += 1
            await _plain(send, 429, b"Too Many Requests", {"retry-after": str(wait)})
            return
        n = emu.knobs.fail_every_n
        fault = emu._faults.pop() or ("500" if n and emu.total_requests % n == 0 else None)
        if fault is None:
            await self.vendor(scope, receive, send)
        else:
            await self._faulty(fault, scope, receive, send)

    async def _faulty(self, fault: str, scope: Scope, receive: Receive, send: Send) -> None:
        if fault in ("500", "502"):
            await _plain(send, int(fault), b"Internal Server Error")
        elif fault == "429":
            await _plain(send, 429, b"Too Many Requests", {"retry-after": "1"})
        elif fault == "401":
            await _plain(send, 401, b"Unauthorized")
        elif fault == "html200":
            await _plain(send, 200, HTML_ERROR_PAGE, {"content-type": "text/html; charset=UTF-8"})
        elif fault == "reset":
            raise ConnectionResetError("emulated connection reset")
        else:
            await self._corrupt(fault, scope, receive, send)

    async def _corrupt(self, fault: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the real handler, then send its body truncated or garbled."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            else:
                chunks.append(message.get("body", b""))

        await self.vendor(scope, receive, capture)
        body = b"".join(chunks)
        body = body[: max(1, len(body) // 2)] if fault == "truncated" else _garble(body)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _garble(body: bytes) -> bytes:
    """A payload that keeps its opening but breaks the syntax of XML and JSON alike."""
    return body[:40] + b"<<\x00{]]>not [valid" + body[40:80]


async def _plain(
    send: Send, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    hdrs = {"content-type": "text/plain; charset=UTF-8", **(headers or {})}
    hdrs["content-length"] = str(len(body))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


def dumps(data: Any) -> str:
    """JSON for ground-truth dumps: stable key order so dumps diff cleanly."""
    return json.dumps(data, sort_keys=True, default=str)
