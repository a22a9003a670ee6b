"""One key space per store and epoch: the salts follow the data folder (not the working
folder), and sightings of one epoch made under two salts are refused, by `collect`
where it can tell and by `footfall run` whatever their origin."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from footfall import key_spaces
from footfall.config import load_settings

from capture_files import SAMPLE_CAPTURES
from footfall_command import run_footfall

SENSORS = ["position_1", "position_2"]


def _capture(sensor: str) -> Path:
    return SAMPLE_CAPTURES / f"brno_{sensor}_2024-03-15.pcap.gz"


def _daily(data: Path) -> list[tuple]:
    files = sorted((data / "marts" / "daily").rglob("*.parquet"))
    assert files, f"no daily mart under {data}"
    query = "select store, date, visitors, visits, passersby from read_parquet($files, hive_partitioning=true)"
    return duckdb.execute(query + " order by store, date", {"files": [str(f) for f in files]}).fetchall()


def test_without_a_config_the_salts_sit_beside_the_data_folder(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "site"
    here.mkdir()
    run = run_footfall(
        "collect", _capture("position_1"), "--store", "demo", "--sensor", "p1", "--data", there / "data", cwd=here
    )
    assert run.returncode == 0, run.output
    assert list((there / "secrets" / "salts" / "demo").glob("*.salt"))
    assert not (here / "secrets").exists(), "never the working folder's"
    settings = load_settings(data_dir=there / "data")
    assert settings.secrets_dir == (there / "secrets").resolve()


def test_a_config_without_secrets_dir_puts_them_beside_its_data_dir(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "footfall.toml"
    config.parent.mkdir()
    config.write_text(f'data_dir = "{tmp_path / "var" / "data"}"\n')
    assert load_settings(config).secrets_dir == (tmp_path / "var" / "secrets").resolve()
    config.write_text('data_dir = "out"\nsecrets_dir = "/somewhere/keys"\n')
    assert load_settings(config).secrets_dir == Path("/somewhere/keys")


def test_two_sensors_collected_from_two_folders_are_one_key_space(tmp_path: Path) -> None:
    """The issue's case: each sensor collected from its own folder into one --data. A
    phone both sensors heard has one pseudonym, and the counts equal those of both
    sensors collected from one folder with the same salts."""
    shared = tmp_path / "shared" / "data"
    for sensor in SENSORS:
        folder = tmp_path / f"from-{sensor}"
        folder.mkdir()
        args = ("--store", "demo", "--sensor", sensor, "--data", shared)
        run = run_footfall("collect", _capture(sensor), *args, cwd=folder)
        assert run.returncode == 0, run.output
        assert not (folder / "secrets").exists()
    query = "select sensor, device from read_parquet($files, hive_partitioning=true)"
    rows = duckdb.execute(query, {"files": [str(f) for f in (shared / "sightings").rglob("*.parquet")]}).fetchall()
    heard = {sensor: {device for s, device in rows if s == sensor} for sensor in SENSORS}
    assert len(heard[SENSORS[0]] & heard[SENSORS[1]]) > 10, "phones heard by both sensors are one device"
    assert run_footfall("run", "--data", shared, cwd=tmp_path).returncode == 0

    together = tmp_path / "together"
    shutil.copytree(shared.parent / "secrets", together / "secrets")
    for sensor in SENSORS:
        run = run_footfall("collect", _capture(sensor), "--store", "demo", "--sensor", sensor, cwd=together)
        assert run.returncode == 0, run.output
    assert run_footfall("run", cwd=together).returncode == 0
    assert _daily(shared) == _daily(together / "data")


def _configs(tmp_path: Path) -> tuple[Path, Path]:
    """Two configurations that share a data folder but not their secrets."""
    paths = []
    for name in ("a", "b"):
        config = tmp_path / f"config-{name}.toml"
        config.write_text(f'data_dir = "{tmp_path / "data"}"\nsecrets_dir = "{tmp_path / f"secrets-{name}"}"\n')
        paths.append(config)
    return paths[0], paths[1]


def test_collect_refuses_a_second_salt_for_an_epoch_it_already_holds(workspace: Path, tmp_path: Path) -> None:
    config_a, config_b = _configs(tmp_path)
    first = run_footfall(
        "collect", _capture("position_1"), "--config", config_a, "--store", "demo", "--sensor", "p1", cwd=workspace
    )
    assert first.returncode == 0, first.output
    before = sorted((tmp_path / "data" / "sightings").rglob("*.parquet"))
    second = run_footfall(
        "collect", _capture("position_2"), "--config", config_b, "--store", "demo", "--sensor", "p2", cwd=workspace
    )
    assert second.returncode == 1, second.output
    assert "another salt" in second.stderr and "epoch 2024-03-15" in second.stderr and "Traceback" not in second.output
    assert sorted((tmp_path / "data" / "sightings").rglob("*.parquet")) == before, "nothing of the second was written"
    again = run_footfall(
        "collect", _capture("position_2"), "--config", config_a, "--store", "demo", "--sensor", "p2", cwd=workspace
    )
    assert again.returncode == 0, again.output  # the right secrets folder: accepted


def test_every_part_records_the_key_id_of_each_epoch(workspace: Path) -> None:
    assert (
        run_footfall("collect", _capture("position_1"), "--store", "demo", "--sensor", "p1", cwd=workspace).returncode
        == 0
    )
    parts = sorted((workspace / "data" / "sightings").rglob("*.parquet"))
    from Crypto.Hash import HMAC, SHA256

    salt = (workspace / "secrets" / "salts" / "demo" / "2024-03-15.salt").read_bytes()
    expected = HMAC.new(salt, b"footfall/key-id/v1", SHA256).digest()[:8].hex()  # independent of the code
    for part in parts:
        assert key_spaces.read(pq.read_metadata(part).metadata) == {"2024-03-15": expected}


def test_run_refuses_a_store_day_whose_sightings_mix_two_salts(tmp_path: Path) -> None:
    """Parts made under two secrets folders, put together by hand (collect could not
    tell): the store-day is named in an error and not processed; other days still run."""
    data = tmp_path / "data"
    for sensor, secrets in zip(SENSORS, ("secrets-a", "secrets-b"), strict=True):
        config = tmp_path / f"{sensor}.toml"
        config.write_text(f'data_dir = "{tmp_path / sensor}"\nsecrets_dir = "{tmp_path / secrets}"\n')
        run = run_footfall(
            "collect", _capture(sensor), "--config", config, "--store", "demo", "--sensor", sensor, cwd=tmp_path
        )
        assert run.returncode == 0, run.output
        shutil.copytree(tmp_path / sensor / "sightings", data / "sightings", dirs_exist_ok=True)
    other_day = SAMPLE_CAPTURES.parent / "sample_captures" / "tcpdump_ieee802.11_exthdr.pcap"
    assert (
        run_footfall("collect", other_day, "--store", "demo", "--sensor", "x", "--data", data, cwd=tmp_path).returncode
        == 0
    )

    run = run_footfall("run", "--data", data, cwd=tmp_path)
    assert run.returncode == 1, run.output
    assert "store 'demo', 2024-03-15 not processed" in run.stderr and "2 different salts" in run.stderr
    assert not (data / "visits" / "store=demo" / "date=2024-03-15").exists()
    assert any((data / "visits" / "store=demo").glob("date=*")), "the other day still ran"
