"""The Omnidesk emulator, independent of the client beside it.

``app`` serves the routes, ``wire`` encodes requests and bodies, ``store`` holds the
data, ``seed`` builds it and makes live changes.
"""

from .app import PERMISSIONS, OmnideskEmulator

__all__ = ["PERMISSIONS", "OmnideskEmulator"]
