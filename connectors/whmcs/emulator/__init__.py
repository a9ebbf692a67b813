"""The WHMCS emulator, independent of the client beside it.

``app`` serves the routes, ``wire`` encodes requests and bodies, ``store`` holds the data,
``seed`` builds it and makes live changes. Vendor extra: ``actions``, the External API actions.
"""

from .app import WhmcsEmulator

__all__ = ["WhmcsEmulator"]
