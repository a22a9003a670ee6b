"""`make demo` runs with a configuration that fits its data, the Brno lab of the sample
captures (sample_captures/brno.toml): Prague's clock, the room's -60 dBm walls, the
lab's PCs as equipment, as `make eval` describes the same lab (eval/brno.toml), so
that the demo's local hours are local and its audit is clean."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq

from footfall.config import FileSettings

from capture_files import REPO, SAMPLE_CAPTURES
from conftest import DEMO_CONFIG, Collected


def test_the_demo_uses_the_labs_configuration() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "cp sample_captures/brno.toml demo/footfall.toml" in recipe
    assert re.search(r"cd demo && \.\./\$\(BIN\)/footfall collect", recipe), "collected from demo/, where it applies"
    demo = FileSettings.model_validate(tomllib.loads(DEMO_CONFIG.read_text())).stores["demo"]
    lab = FileSettings.model_validate(tomllib.loads((REPO / "eval" / "brno.toml").read_text())).stores["brno"]
    assert demo.timezone == lab.timezone == "Europe/Prague"
    assert demo.rssi_threshold_dbm == lab.rssi_threshold_dbm == -60
    assert demo.equipment == lab.equipment and demo.equipment
    assert set(demo.sensors) == set(lab.sensors) == {"position_1", "position_2"}
    assert DEMO_CONFIG.parent == SAMPLE_CAPTURES


def test_the_demos_hours_are_pragues(demo_outputs: Collected) -> None:
    """Passers-by per local hour, from the visits' first sightings turned into Prague's
    clock here (zoneinfo), are the hourly mart's where published; the first hour with
    anyone is Prague's, not UTC's (an hour earlier in March)."""
    prague = ZoneInfo("Europe/Prague")
    (visits_file,) = (demo_outputs.data / "visits").rglob("*.parquet")
    visits = pq.read_table(visits_file).to_pylist()
    visitors = {v["device_key"] for v in visits if v["class"] == "visitor"}
    passes = {  # (device, local hour in which one of its passes began)
        (v["device_key"], datetime.fromisoformat(str(v["first_seen"])).astimezone(prague).hour)
        for v in visits
        if v["class"] == "passerby" and v["device_key"] not in visitors
    }
    expected = Counter(hour for _, hour in passes)
    (hourly_file,) = (demo_outputs.data / "marts" / "hourly").rglob("*.parquet")
    hourly = {row["hour"]: row for row in pq.read_table(hourly_file).to_pylist()}
    published = sorted(hour for hour, row in hourly.items() if row["passersby"] is not None)
    assert len(published) >= 5
    for hour in published:
        assert hourly[hour]["passersby"] == expected[hour], hour
    earliest = min(datetime.fromisoformat(str(v["first_seen"])) for v in visits)
    assert published[0] == earliest.astimezone(prague).hour != earliest.astimezone(ZoneInfo("UTC")).hour
    assert "probe requests of the store's listed equipment dropped" in demo_outputs.console
