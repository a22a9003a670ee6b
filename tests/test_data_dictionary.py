"""The data dictionary's code runs as written: every SQL, pandas, Spark and shell block of
docs/data-dictionary.md on the demo's outputs, and each dataset's worked examples
(footfall/output_examples.py) on two simulated stores over six days (one missing a day,
small cells suppressed), where their answers are checked against the partition files
read with pyarrow alone."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from footfall import outputs
from footfall.output_examples import EXAMPLES

from capture_files import REPO
from conftest import SOUTH_MISSING_DAY, TWO_STORES_DAYS, Collected
from footfall_command import FOOTFALL, run_footfall

DICTIONARY = (REPO / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
K = 5


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DICTIONARY, flags=re.S)


def python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600)


def sql(query: str, cwd: Path) -> list[dict]:
    done = run_footfall("sql", "--query", query, "--format", "json", cwd=cwd)
    assert done.returncode == 0, done.output
    return json.loads(done.stdout)


def daily_files(data: Path) -> dict[tuple[str, str], dict]:
    """(store, date) -> the daily row, read with pyarrow from the partition files."""
    found = {}
    for file in (data / "marts" / "daily").glob("store=*/date=*/part-0.parquet"):
        store, day = file.parent.parent.name.removeprefix("store="), file.parent.name.removeprefix("date=")
        (found[(store, day)],) = pq.read_table(file).to_pylist()
    return found


def test_every_example_is_generated_into_the_dictionary() -> None:
    for name, examples in EXAMPLES.items():
        section = DICTIONARY.split(f"## `{name}`\n", 1)[1].split("\n## ", 1)[0]
        for example in examples:
            assert example.sql in section and example.pandas in section, (name, example.title)
    assert {"marts/daily", "marts/hourly", "marts/dwell", "marts/occupancy", "marts/sensor_health"} <= set(EXAMPLES)
    assert all(e.sql and e.pandas for examples in EXAMPLES.values() for e in examples), "one of each per example"


def test_every_code_block_runs_as_written_on_the_demo(demo_outputs: Collected, tmp_path: Path) -> None:
    for query in blocks("sql"):
        assert sql(query, demo_outputs.workspace), query
    for code in blocks("python"):
        done = python(code, demo_outputs.workspace)
        assert done.returncode == 0, f"{code}\n{done.stderr[-2000:]}"
        assert "demo" in done.stdout or "2024-03-15" in done.stdout, code
    for script in blocks("sh"):
        for line in script.splitlines():
            words = shlex.split(line)
            assert words[0] == "footfall", line
            done = run_footfall(*words[1:], "--data", demo_outputs.data, cwd=tmp_path)
            assert done.returncode == 0, f"{line}: {done.output}"
    assert (tmp_path / "march.csv").read_text().startswith("store,date,hour,")


def test_day_over_day_with_a_calendar(two_stores_outputs: Collected) -> None:
    (example, _) = EXAMPLES["marts/daily"]
    rows = {(r["store"], r["date"]): r for r in sql(example.sql, two_stores_outputs.workspace)}
    truth = daily_files(two_stores_outputs.data)
    assert set(rows) == {(s, d) for s in ("north", "south") for d in TWO_STORES_DAYS}, "every calendar day"
    missing = rows[("south", SOUTH_MISSING_DAY)]
    assert missing["no_data"] is True and missing["visitors"] is None and missing["change"] is None
    after = str(date.fromisoformat(SOUTH_MISSING_DAY) + timedelta(days=1))
    assert rows[("south", after)]["change"] is None, "never against the day before the missing one"
    checked = 0
    for (store, day), row in rows.items():
        before = truth.get((store, str(date.fromisoformat(day) - timedelta(days=1))))
        own = truth.get((store, day))
        if own and before and own["visitors"] is not None and before["visitors"] is not None:
            assert row["change"] == own["visitors"] - before["visitors"], (store, day)
            checked += 1
    assert checked >= 5, "north's five changes at least"
    done = python(example.pandas, two_stores_outputs.workspace)
    assert done.returncode == 0 and "<NA>" in done.stdout, done.stderr[-2000:]


def test_a_periods_total_is_a_range_when_days_are_suppressed(two_stores_outputs: Collected) -> None:
    (_, example) = EXAMPLES["marts/daily"]
    rows = {r["store"]: r for r in sql(example.sql, two_stores_outputs.workspace)}
    truth = daily_files(two_stores_outputs.data)
    for store in ("north", "south"):
        values = [row["visitors"] for (s, _), row in truth.items() if s == store]
        known = sum(v for v in values if v is not None)
        hidden = sum(v is None for v in values)
        assert rows[store]["days_with_data"] == len(values)
        assert (rows[store]["visitors_at_least"], rows[store]["visitors_at_most"]) == (known, known + hidden * (K - 1))
    assert python(example.pandas, two_stores_outputs.workspace).returncode == 0


@pytest.mark.parametrize("name", ["visits", "marts/hourly", "marts/dwell", "marts/occupancy", "marts/sensor_health"])
def test_the_other_examples_run_on_several_days_and_stores(name: str, two_stores_outputs: Collected) -> None:
    for example in EXAMPLES[name]:
        rows = sql(example.sql, two_stores_outputs.workspace)
        assert rows, example.title
        done = python(example.pandas, two_stores_outputs.workspace)
        assert done.returncode == 0, f"{example.title}: {done.stderr[-2000:]}"
        assert done.stdout.strip(), example.title


def test_dwell_shares_are_of_all_the_visits(two_stores_outputs: Collected) -> None:
    (example,) = EXAMPLES["marts/dwell"]
    rows = sql(example.sql, two_stores_outputs.workspace)
    truth = daily_files(two_stores_outputs.data)
    for row in rows:
        day_visits = truth[(row["store"], row["date"])]["visits"]
        if row["share_of_visits"] is not None:
            assert row["share_of_visits"] == pytest.approx(int(row["visits"]) / day_visits)
        else:
            assert row["visits"] == f"0-{K - 1}" or day_visits is None
    assert any(r["visits"] == f"0-{K - 1}" for r in rows), "a suppressed bucket reads as its range"


def test_the_dictionary_says_how_each_mart_adds_up() -> None:
    for dataset in outputs.DATASETS:
        section = DICTIONARY.split(f"## `{dataset.name}`\n", 1)[1].split("\n## ", 1)[0]
        assert "**Missing rows**" in section, dataset.name
        for name in dataset.counts():
            assert f"- `{name}`: " in section, f"{dataset.name}.{name}: how it adds up"
    hourly = DICTIONARY.split("## `marts/hourly`\n", 1)[1]
    assert "not additive across hours" in hourly
    assert "lower bound" in DICTIONARY and "min_count=1" in DICTIONARY and "calendar" in DICTIONARY
    assert FOOTFALL.exists()
