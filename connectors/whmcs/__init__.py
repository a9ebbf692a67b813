"""WHMCS External API connector plugin (with the Keliweb flavour)."""

from deskbridge.sdk import Plugin

plugin = Plugin(
    name="whmcs",
    title="WHMCS (and Keliweb)",
    connector="deskbridge_connectors.whmcs.connector:WhmcsConnector",
    emulator="deskbridge_connectors.whmcs.emulator:WhmcsEmulator",
    credentials=(),
    docs="connectors/whmcs/README.md",
)
