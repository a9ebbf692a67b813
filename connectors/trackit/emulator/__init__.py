"""The Track-It! emulator, independent of the client beside it.

``app`` serves the routes, ``wire`` encodes requests and bodies, ``store`` holds the data,
``seed`` builds it and makes live changes. Vendor extra: ``fields``, the field tables and vocabularies.
"""

from .app import TrackitEmulator

__all__ = ["TrackitEmulator"]
