from pathlib import Path

import pytest

from live.settings import SettingsError, load_settings


def test_defaults_come_from_config_default_toml() -> None:
    settings = load_settings({})
    assert settings.server.port == 8000
    assert settings.commerce.durability == "everysec"
    assert settings.limits.exempt_networks == ()
    assert settings.redis_url is None and settings.admin_token is None


def test_environment_overrides_one_value_and_parses_lists() -> None:
    settings = load_settings(
        {
            "LIVE_COMMERCE_DURABILITY": "always",
            "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8, ::1/128",
            "LIVE_REALTIME_TICK_MS": "20",
            "LIVE_REDIS_URL": "redis://127.0.0.1:7000/0",
            "LIVE_ADMIN_TOKEN": "secret",
        }
    )
    assert settings.commerce.durability == "always"
    assert settings.limits.exempt_networks == ("127.0.0.0/8", "::1/128")
    assert settings.realtime.tick_ms == 20
    assert settings.redis_url == "redis://127.0.0.1:7000/0"
    assert settings.admin_token == "secret"


def test_live_config_file_is_layered_over_defaults(tmp_path: Path) -> None:
    path = tmp_path / "prod.toml"
    path.write_text('[server]\nport = 9000\n[chat]\nword_filter = ["spam"]\n')
    settings = load_settings({"LIVE_CONFIG": str(path), "LIVE_SERVER_HOST": "0.0.0.0"})
    assert settings.server.port == 9000
    assert settings.server.host == "0.0.0.0"
    assert settings.chat.word_filter == ("spam",)
    assert settings.chat.max_len == 300


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LIVE_SERVER_PORTT": "1"}, "server.portt"),
        ({"LIVE_NOPE_X": "1"}, "LIVE_NOPE_X"),
        ({"LIVE_SERVER_PORT": "eighty"}, "server.port"),
        ({"LIVE_COMMERCE_DURABILITY": "sometimes"}, "commerce.durability"),
    ],
)
def test_bad_environment_stops_startup_naming_the_key(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named.replace(".", r"\.")):
        load_settings(env)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[server]\nport = "80"\n', "server.port"),
        ("[server]\nbogus = 1\n", "server.bogus"),
        ("[nosuch]\nx = 1\n", "nosuch"),
        ('[limits]\nexempt_networks = "10.0.0.0/8"\n', "limits.exempt_networks"),
        ("[server]\nworkers = true\n", "server.workers"),
    ],
)
def test_bad_config_file_stops_startup_naming_the_key(
    tmp_path: Path, toml: str, named: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError, match=named.replace(".", r"\.")):
        load_settings({"LIVE_CONFIG": str(path)})


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(AttributeError):
        settings.server.port = 1  # type: ignore[misc]
