"""The status page at ``/`` on the health port, rendered by a real headless Chromium."""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from conftest import CONTRACT_OPTIONS
from service_proc import SandboxProcess, ServiceProcess, write_config

from deskbridge.service import page
from deskbridge.service.health import ConnectionHealth
from deskbridge.service.metrics import State
from deskbridge.warehouse.metrics import Figures, LinkFigures

CHROMIUM = Path("/usr/bin/chromium")
LINK = '\n[links.copy]\na = "src"\nb = "dst"\ndirection = "a_to_b"\nauthor = { b = "staff:1" }\n'


@pytest.fixture(autouse=True)
def _kill_leftover_services() -> Iterator[None]:
    yield
    ServiceProcess.kill_all()


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a fresh profile and nothing fetched but the page."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it with apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is absent here: apt-get install chromium to run this test")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def png_pixels(path: Path) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct pixels (raw bytes per scanline filter) of an 8-bit PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + size]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + size
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    channels = {2: 3, 6: 4, 0: 1, 4: 2}[color]
    raw = zlib.decompress(idat)
    stride = width * channels * depth // 8
    pixels: set[bytes] = set()
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = _unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        pixels.update(bytes(line[i : i + channels]) for i in range(0, stride, channels))
        previous = line
    return width, height, pixels


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + pred) & 0xFF
    return line


def test_status_page_renders_every_connection_and_the_chart_in_chromium(tmp_path: Path) -> None:
    """Headless Chromium's DOM of ``/`` holds each connection, the link and the SVG chart; the screenshot is not blank."""
    if not CHROMIUM.exists():
        chromium(tmp_path)  # skips here, fails in CI
    a = SandboxProcess("kayako", "--tickets", "12")
    b = SandboxProcess("omnidesk", "--tickets", "4")
    shot = tmp_path / "page.png"
    try:
        config = tmp_path / "config.toml"
        env = write_config(config, {"src": a, "dst": b}, '{ every = "1h" }', CONTRACT_OPTIONS)
        service = ServiceProcess(config, env)
        service.wait_for(lambda body: all(c["runs"] == 1 for c in body["connections"]), 90)
        url = service.health_url.removesuffix("health")
        served = httpx.get(url, timeout=10)
        dom = chromium(tmp_path, "--dump-dom", url).stdout
        chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", url)
        assert service.stop()[0] == 0
    finally:
        a.stop()
        b.stop()
    assert served.headers["content-type"] == "text/html; charset=utf-8"
    for text in ("<td>src</td>", "<td>dst</td>", "<td>kayako</td>", "<td>omnidesk</td>", "<svg"):
        assert text in dom
    assert dom.count('<td class="success">success</td>') == 4  # two connections, two runs
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1200, 900) and len(pixels) > 10


def test_page_escapes_every_value() -> None:
    """Names, errors and link sides from config or vendors are HTML-escaped, never markup."""
    conn = ConnectionHealth("<b>desk</b>", "kayako", "every 1h", last_status="failed")
    conn.last_error = "HTTPError: <script>alert(1)</script> & more"
    link = LinkFigures("a&b", "<x>", "y", 1, 2, 3, 4, "failed", "PreflightError: <i>no</i>")
    figures = Figures(links={"a&b": link}, backlog=[(date(2026, 12, 1), 5)])
    html = page.render(State([conn], figures), datetime(2026, 12, 6, tzinfo=UTC))
    assert "<script>" not in html and "<b>desk" not in html and "<x>" not in html
    assert (
        "&lt;b&gt;desk&lt;/b&gt;" in html
        and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    )
    assert (
        '<td>a&amp;b</td><td>&lt;x&gt; ↔ y</td><td class="failed">failed</td><td>4</td><td>1</td>'
        "<td>2</td><td>3</td><td>PreflightError: &lt;i&gt;no&lt;/i&gt;</td>"
    ) in html
    assert "<title>2026-12-01: 5 open</title>" in html
