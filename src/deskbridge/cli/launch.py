"""The ``deskbridge`` console script: the process is set up before the CLI's modules load.

A run that finds nothing is mostly start-up, so two costs are kept out of it:

- the cyclic garbage collector, off while the modules load: they create some 55,000 objects that
  live as long as the process, and collecting them again and again while importing took a tenth
  of the start-up. ``app.main`` freezes them out of later collections and turns it back on;
- httpx's own command-line client (click, rich.progress, pygments: ~40 ms), which
  ``import httpx`` loads and deskbridge never runs. A ``None`` entry in ``sys.modules`` makes
  that import fail, and httpx falls back to the stub it has for installs without its CLI extra;
- pydantic's scan of every installed package's metadata for pydantic plugins (~10 ms per hundred
  packages). deskbridge uses none; set ``PYDANTIC_DISABLE_PLUGINS=""`` to have them loaded.
"""

from __future__ import annotations

import gc
import os
import sys


def main() -> None:
    """``deskbridge``: the CLI, with start-up kept lean."""
    gc.disable()
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from deskbridge.cli.app import main as run

    run()
