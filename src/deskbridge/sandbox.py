"""Serving vendor emulators on loopback: ``deskbridge sandbox`` and the demo."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import uvicorn

from deskbridge import registry
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.emulator import ADMIN_PREFIX, Emulator
from deskbridge.sdk.errors import DeskbridgeError

HOST = "127.0.0.1"


class PortInUse(DeskbridgeError):
    """Another process listens on the loopback port asked for; ``port`` is that port."""

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__(f"port {port} on {HOST} is in use")


def sandbox_connection(
    emulator: Emulator, base_url: str, name: str | None = None, **settings: Any
) -> ConnectionConfig:
    """A connection to a running emulator; its credentials go through environment variables."""
    vendor = emulator.vendor
    name = name or f"{vendor}_demo"
    refs = {}
    for key, value in emulator.credentials().items():
        env = f"DESKBRIDGE_SANDBOX_{name.upper()}_{key.upper()}"
        os.environ[env] = value
        refs[key] = f"env:{env}"
    return ConnectionConfig(name=name, type=vendor, base_url=base_url, credentials=refs, **settings)


def build_emulator(vendor: str, **options: Any) -> Emulator:
    return registry.get(vendor).emulator_class()(**options)


def bind(port: int = 0) -> socket.socket:
    """A listening loopback socket (port 0: any free port); :class:`PortInUse` if taken."""
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; without it,
    # Nagle's algorithm and delayed ACKs add ~40 ms to every keep-alive response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(port) from None
        raise
    sock.listen(128)
    return sock


def describe(emulator: Emulator, port: int) -> dict[str, Any]:
    base = f"http://{HOST}:{port}"
    return {
        "vendor": emulator.vendor,
        "base_url": base,
        "credentials": emulator.credentials(),
        "admin_url": base + ADMIN_PREFIX,
    }


def _server(emulator: Emulator) -> uvicorn.Server:
    config = uvicorn.Config(emulator.app, log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def serve_forever(emulator: Emulator, sock: socket.socket) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    _server(emulator).run(sockets=[sock])


@dataclass
class RunningSandbox:
    emulator: Emulator
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(emulator: Emulator, port: int = 0) -> RunningSandbox:
    """Serve ``emulator`` on a loopback port from a background thread; returns once listening."""
    sock = bind(port)
    server = _server(emulator)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the {emulator.vendor} sandbox failed to start")
        threading.Event().wait(0.02)
    return RunningSandbox(emulator, sock.getsockname()[1], server, thread)
