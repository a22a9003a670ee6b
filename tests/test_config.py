"""footfall.toml: the keys of DESIGN.md, validated with errors that name the key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from footfall.config import load_settings, parse_opening_hours
from footfall.errors import ConfigError

from footfall_command import run_footfall

DESIGN_EXAMPLE = """
data_dir = "data"
secrets_dir = "secrets"

[privacy]
epoch = "day"
salt_grace_hours = 6
k = 5
optout_file = "optout.txt"

[retention]
sightings = 1
visits = 30
marts = 0

[visits]
gap_min = 15
min_dwell_min = 5
rssi_threshold_dbm = -70
staff_daily_hours = 6

[stores.demo]
timezone = "Europe/Prague"
opening_hours = "09:00-20:00"

[stores.demo.sensors.s1]
rssi_threshold_dbm = -72

[notice]
controller = "Demo Shop Ltd"
contact = "privacy@example.com"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "footfall.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_the_design_example_loads_with_every_key(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, DESIGN_EXAMPLE))
    file = settings.file
    assert settings.data_dir == (tmp_path / "conf" / "data").resolve()
    assert settings.secrets_dir == (tmp_path / "conf" / "secrets").resolve()
    assert (file.privacy.epoch, file.privacy.salt_grace_hours, file.privacy.k) == ("day", 6, 5)
    assert settings.optout_path == settings.secrets_dir / "optout.txt"
    assert (file.retention.sightings, file.retention.visits, file.retention.marts) == (1, 30, 0)
    assert file.visits.gap_min == 15 and file.visits.rssi_threshold_dbm == -70
    assert file.stores["demo"].timezone == "Europe/Prague"
    assert file.stores["demo"].sensors["s1"].rssi_threshold_dbm == -72
    assert file.notice.contact == "privacy@example.com"
    assert settings.default_store() == "demo" and settings.default_sensor("demo") == "s1"


def test_no_file_at_all_gives_the_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FOOTFALL_CONFIG", raising=False)
    settings = load_settings()
    assert settings.source is None
    assert settings.data_dir == tmp_path / "data" and settings.secrets_dir == tmp_path / "secrets"
    assert settings.store("anything").timezone == "UTC"
    assert settings.file.privacy.k == 5 and settings.file.visits.staff_daily_hours == 6


def test_data_flag_overrides_data_dir(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, DESIGN_EXAMPLE), data_dir=tmp_path / "elsewhere")
    assert settings.data_dir == (tmp_path / "elsewhere").resolve()


def test_environment_variable_points_at_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FOOTFALL_CONFIG", str(_write(tmp_path, DESIGN_EXAMPLE)))
    assert load_settings().file.stores["demo"].opening_hours == "09:00-20:00"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[privacy]\nsalt_grace_hours = -1\n", "privacy.salt_grace_hours"),
        ("[privacy]\nepoch = 'fortnight'\n", "privacy.epoch"),
        ("[retention]\nvisits = -3\n", "retention.visits"),
        ("[retention]\nsightings = false\n", "retention.sightings"),  # not 0 (kept for ever)
        ("[privacy]\nk = true\n", "privacy.k"),  # not 1 (suppression off)
        ("[visits]\nmin_dwell_min = 'five'\n", "visits.min_dwell_min"),
        ("[visits]\nstaff_daily_hours = 30\n", "visits.staff_daily_hours"),
        ("[visits]\nrssi_threshold_dbm = 3\n", "visits.rssi_threshold_dbm"),
        ("[stores.demo]\nrssi_threshold_dbm = 3\n", "stores.demo.rssi_threshold_dbm"),
        ("[stores.demo.sensors.s1]\nrssi_threshold_dbm = -200\n", "stores.demo.sensors.s1.rssi_threshold_dbm"),
        ("[stores.demo.sensors.s1]\ngap = 3\n", "stores.demo.sensors.s1.gap"),
        ("[stores.demo]\nopening_hours = '25:00-26:00'\n", "stores.demo.opening_hours"),
        ("[notice]\nemail = 'x'\n", "notice.email"),
        ("colour = 'red'\n", "colour"),
        # every number is bounded: no infinity, no overflow further on
        ("[privacy]\nsalt_grace_hours = inf\n", "privacy.salt_grace_hours"),
        ("[privacy]\nsalt_grace_hours = 1e300\n", "privacy.salt_grace_hours"),
        ("[privacy]\nsalt_grace_hours = 1e8\n", "privacy.salt_grace_hours"),
        ("[privacy]\nsalt_grace_hours = nan\n", "privacy.salt_grace_hours"),
        ("[privacy]\nk = 100000000000000000000\n", "privacy.k"),
        ("[retention]\nvisits = 10000000000\n", "retention.visits"),
        ("[visits]\ngap_min = inf\n", "visits.gap_min"),
        ("[visits]\nmin_dwell_min = 1e300\n", "visits.min_dwell_min"),
        ("[stores.demo]\ngap_min = inf\n", "stores.demo.gap_min"),
        ("[stores.demo]\nstaff_daily_hours = nan\n", "stores.demo.staff_daily_hours"),
        ("[collector]\nroll_seconds = inf\n", "collector.roll_seconds"),
        ("[collector]\nroll_rows = 1000000000000\n", "collector.roll_rows"),
        ('data_dir = "da\\u0000ta"\n', "data_dir"),
        ('secrets_dir = "keys\\u0000"\n', "secrets_dir"),
        ('data_dir = ""\n', "data_dir"),
        ('[privacy]\noptout_file = "a\\u0000b"\n', "privacy.optout_file"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_write(tmp_path, text))
    assert f": {names}:" in str(error.value)
    assert "\n" not in str(error.value)


def test_the_largest_values_in_range_load(tmp_path: Path) -> None:
    text = (
        "[privacy]\nsalt_grace_hours = 168\nk = 1000\n[retention]\nvisits = 36500\n"
        "[visits]\ngap_min = 1440\nmin_dwell_min = 1440\nstaff_daily_hours = 24\n"
        "[collector]\nroll_seconds = 86400\nroll_rows = 10000000\n"
    )
    file = load_settings(_write(tmp_path, text)).file
    assert (file.privacy.salt_grace_hours, file.privacy.k, file.retention.visits) == (168, 1000, 36500)
    assert (file.visits.gap_min, file.collector.roll_rows) == (1440, 10_000_000)


def test_an_equipment_error_never_echoes_the_addresses(tmp_path: Path) -> None:
    text = '[stores.demo]\nequipment = ["00:1b:44", "da:a1:19:e7:5c:3b", "40:ec:99:12:34:56:78"]\n'
    with pytest.raises(ConfigError) as error:
        load_settings(_write(tmp_path, text))
    message = str(error.value)
    assert "stores.demo.equipment" in message and "entry 3" in message
    for address in ("00:1b:44", "da:a1:19:e7:5c:3b", "40:ec:99:12:34:56:78"):
        assert address not in message
    assert not re.search(r"(?i)[0-9a-f]{2}[:-][0-9a-f]{2}[:-][0-9a-f]{2}", message.replace("'dc:fb:48'", "")), message


def test_secrets_must_not_live_inside_data(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"secrets_dir .* must not be inside data_dir"):
        load_settings(_write(tmp_path, 'data_dir = "out"\nsecrets_dir = "out/keys"\n'))
    with pytest.raises(ConfigError, match="must not be inside"):
        load_settings(_write(tmp_path, 'secrets_dir = "s"\n'), data_dir=tmp_path / "conf")


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config: no such file"):
        load_settings(tmp_path / "nope.toml")


def test_store_and_sensor_names_are_checked(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, DESIGN_EXAMPLE))
    assert "store 'dmeo' is not in" in settings.unlisted("dmeo", "s1")
    assert settings.store("dmeo").timezone == "UTC"
    assert "sensor 's2' is not listed" in settings.unlisted("demo", "s2")
    assert settings.unlisted("demo", "s1") is None
    with pytest.raises(ConfigError, match=r"--store: '\.\./etc' is not a valid store name"):
        settings.store("../etc")


@pytest.mark.parametrize("name", ["lab\n", "lab\r", "la\nb", "\nlab", "lab ", "", "a" * 65])
def test_names_are_checked_whole(tmp_path: Path, name: str) -> None:
    """A trailing newline broke the run and plain Hive globs: the whole name must match."""
    settings = load_settings(_write(tmp_path, DESIGN_EXAMPLE))
    with pytest.raises(ConfigError, match="is not a valid store name"):
        settings.store(name)
    with pytest.raises(ConfigError, match="is not a valid sensor name"):
        settings.unlisted("demo", name)
    with pytest.raises(ConfigError, match="not a valid store name"):
        load_settings(_write(tmp_path, f"[stores.{json.dumps(name)}]\n"))


@pytest.mark.parametrize(
    ("text", "hours"),
    [("09:00-20:00", ((9, 0), (20, 0))), ("22:00-02:30", ((22, 0), (2, 30))), (" 8:15 - 24:00 ", ((8, 15), (0, 0)))],
)
def test_opening_hours(text: str, hours: tuple) -> None:
    opening, closing = parse_opening_hours(text)
    assert ((opening.hour, opening.minute), (closing.hour, closing.minute)) == hours


@pytest.mark.parametrize("text", ["9-17", "09:00-09:00", "09:60-10:00", "nine to five"])
def test_bad_opening_hours(text: str) -> None:
    with pytest.raises(ValueError):
        parse_opening_hours(text)


@pytest.mark.parametrize(
    ("text", "key", "meant"),
    [
        ("[privacy]\nkk = 3\n", "privacy.kk", "k"),
        ("[retension]\nvisits = 3\n", "retension", "retention"),
        ('[stores.demo]\ntimezon = "UTC"\n', "stores.demo.timezon", "timezone"),
        ("[stores.demo.sensors.s1]\nrssi_treshold_dbm = -60\n", "stores.demo.sensors.s1.rssi_treshold_dbm", None),
        ('[notice]\ncontroler = "x"\n', "notice.controler", "controller"),
    ],
)
def test_a_typo_gets_did_you_mean_once_on_stderr(tmp_path: Path, text: str, key: str, meant: str | None) -> None:
    (tmp_path / "footfall.toml").write_text(text)
    run = run_footfall("run", cwd=tmp_path)
    assert run.returncode == 1 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    meant = meant or "rssi_threshold_dbm"
    guess = f"unknown key; did you mean '{meant}'? (every key: docs/configuration.md)"
    assert line == f"footfall: error: footfall.toml: {key}: {guess}"
    (tmp_path / "footfall.toml").write_text("[privacy]\nzzz = 1\n")
    assert "did you mean" not in run_footfall("run", cwd=tmp_path).stderr, "no guess when nothing is close"
