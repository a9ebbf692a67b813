"""The Track-It! emulator, independent of the client beside it.

``app`` serves the routes and writes the bodies, ``store`` holds the data, ``seed``
builds it and makes live changes; the vendor extra: ``fields`` (field tables and vocabularies).
"""

from .app import TrackitEmulator

__all__ = ["TrackitEmulator"]
