"""The Mapcom M4 Workforce emulator, independent of the client beside it.

``app`` serves the routes, ``wire`` encodes requests and bodies, ``store`` holds the
data, ``seed`` builds it and makes live changes.
"""

from .app import M4Emulator

__all__ = ["M4Emulator"]
