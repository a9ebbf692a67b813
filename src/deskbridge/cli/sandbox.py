"""``deskbridge sandbox``: serve one vendor emulator on loopback, to rehearse a migration."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from deskbridge.cli import common
from deskbridge.cli.common import console
from deskbridge.sdk.errors import DeskbridgeError


def sandbox(
    vendor: Annotated[
        str,
        typer.Argument(help="Vendor emulator to serve: kayako, m4, omnidesk, trackit or whmcs."),
    ],
    port: Annotated[int, typer.Option(help="Loopback port (0: any free port).")] = 0,
    tickets: Annotated[int, typer.Option(help="Tickets to seed.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed for the data set.")] = 7,
    latency_ms: Annotated[float, typer.Option(help="Latency added to every request.")] = 0.0,
    rate_limit_per_s: Annotated[
        float,
        typer.Option(
            help="Requests/s allowed (a token bucket; 429 with Retry-After above). 0: any."
        ),
    ] = 0.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line.")
    ] = False,
) -> None:
    """Serve a vendor emulator on 127.0.0.1 until stopped, to rehearse a migration."""
    from deskbridge.sandbox import PortInUse, bind, build_emulator, describe, serve_forever
    from deskbridge.sdk.emulator import Knobs

    try:
        sock = bind(port)
    except PortInUse as exc:
        common.fail(f"--port {port}: {exc}; choose another with --port")
    try:
        emulator = build_emulator(
            vendor,
            seed=seed,
            tickets=tickets,
            knobs=Knobs(latency_ms=latency_ms, rate_limit_per_s=rate_limit_per_s),
        )
    except DeskbridgeError as exc:
        sock.close()
        common.fail(str(exc))
    info = describe(emulator, sock.getsockname()[1])
    if as_json:
        print(json.dumps(info), flush=True)
    else:
        _print_details(vendor, info, tickets, seed)
    sys.stdout.flush()
    serve_forever(emulator, sock)


def _print_details(vendor: str, info: dict[str, Any], tickets: int, seed: int) -> None:
    console.print(
        f"[bold]{vendor}[/] sandbox on {info['base_url']} ({tickets} tickets, seed {seed})"
    )
    for key, value in info["credentials"].items():
        console.print(f"  {key} = {value}")
    console.print(f"  admin: {info['admin_url']}/truth, /mutate?n=10, /knobs, /fault, /stats")
    console.print("Ctrl-C to stop.")
