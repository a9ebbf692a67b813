"""Configuration loading: one clear message naming the key for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskbridge.config import load_settings
from deskbridge.sdk.durations import parse_duration
from deskbridge.sdk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
[connections.support]
type = "kayako"
base_url = "http://127.0.0.1:1"
credentials = { api_key = "env:T_KEY", secret_key = "env:T_SECRET" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return str(info.value)


def test_example_config_loads() -> None:
    """config.example.toml, as shipped, is a valid configuration."""
    settings = load_settings(ROOT / "config.example.toml")
    conn = settings.connections["support"]
    assert (conn.type, conn.concurrency, conn.rate_limit_per_s, conn.adaptive) == (
        "kayako",
        8,
        0,
        True,
    )
    assert conn.options == {"page_size": 200, "lookback": "5m", "closed_reconcile_every": "24h"}
    assert conn.schedule is not None and conn.schedule.every == "15m"


def test_unknown_connector_type_names_key_and_known_types(tmp_path: Path) -> None:
    """A typo in the connector type lists the installed ones."""
    path = write(tmp_path, GOOD.replace('"kayako"', '"kayak"'))
    assert error_of(path) == (
        f"{path}: connections.support.type: unknown connector type 'kayak'; "
        "known: kayako, m4, omnidesk, trackit, whmcs"
    )


def test_missing_credential_is_named(tmp_path: Path) -> None:
    """A connector's required credential that is absent is named with what the type needs."""
    path = write(tmp_path, GOOD.replace(', secret_key = "env:T_SECRET"', ""))
    assert error_of(path) == (
        f"{path}: connections.support.credentials.secret_key: missing credential "
        "(kayako needs api_key, secret_key)"
    )


def test_literal_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """A credential written as a value is refused, and the value is not repeated back."""
    path = write(tmp_path, GOOD.replace('"env:T_KEY"', '"hunter2-literal"'))
    message = error_of(path)
    assert "connections.support.credentials" in message and "env:MY_SECRET" in message
    assert "hunter2" not in message


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    """A value of the wrong type names the key and shows the value."""
    path = write(tmp_path, GOOD + 'concurrency = "lots"\n')
    assert error_of(path).startswith(
        f"{path}: connections.support.concurrency: Input should be a valid integer"
    )
    assert "'lots'" in error_of(path)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    """A misspelt key is reported as unknown, with its full path."""
    path = write(tmp_path, GOOD + "concurency = 3\n")
    assert error_of(path) == f"{path}: connections.support.concurency: unknown key"


def test_unknown_connector_option_is_named(tmp_path: Path) -> None:
    """Connector options are validated by the connector's own options model."""
    path = write(tmp_path, GOOD + "[connections.support.options]\npage_sise = 10\n")
    assert error_of(path) == f"{path}: connections.support.options.page_sise: unknown key"


def test_bad_duration_option_is_named(tmp_path: Path) -> None:
    """Duration options of every connector are checked when the config loads, not mid-run."""
    path = write(
        tmp_path, GOOD + '[connections.support.options]\nclosed_reconcile_every = "daily"\n'
    )
    assert error_of(path).startswith(
        f"{path}: connections.support.options.closed_reconcile_every: "
    )
    assert "expected a duration like '15m', '6h' or '1d', got 'daily'" in error_of(path)


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DESKBRIDGE_* variables override the file, nested keys joined by '__'."""
    monkeypatch.setenv("DESKBRIDGE_WAREHOUSE__PATH", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("DESKBRIDGE_CONNECTIONS__SUPPORT__BASE_URL", "http://override")
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.warehouse.path == tmp_path / "x.duckdb"
    assert settings.connections["support"].base_url == "http://override"


def test_unset_env_credential_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolving a credential whose variable is unset names both the key and the variable."""
    monkeypatch.delenv("T_KEY", raising=False)
    conn = load_settings(write(tmp_path, GOOD)).connections["support"]
    with pytest.raises(ConfigError) as info:
        conn.secret("api_key")
    assert (
        str(info.value)
        == "connections.support.credentials.api_key: environment variable T_KEY is not set"
    )


def test_bad_toml_is_reported(tmp_path: Path) -> None:
    """A TOML syntax error names the file."""
    path = write(tmp_path, "[connections\n")
    assert error_of(path).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), (30, 30)]
)
def test_durations(text: str | int, seconds: int) -> None:
    """Durations accept s, m, h and d suffixes or plain seconds."""
    assert parse_duration(text) == seconds
