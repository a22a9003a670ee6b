"""The fixtures the test files share: an empty workspace, and the outputs of `footfall
collect` and `footfall run` on the real captures and on the demo's, made once per
session. The helpers live in modules of their own: capture_files (where the captures
are), reference_dissectors (tshark, scapy), footfall_command (running the command),
capture_builder, mart_builder and sightings_builder (small inputs with known content)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture_files import CONTRACT_COLUMNS, REPO, SAMPLE_CAPTURES, SHARED_CAPTURES, real_captures
from footfall_command import FOOTFALL, Run, read_sightings, run_footfall
from reference_dissectors import RefProbe, parsed_probes, scapy_probes, tshark_fields, tshark_probes

sys.path.insert(0, str(SAMPLE_CAPTURES))  # synthetic_store, the store-day generator

# Test files written before the helpers left this file still import them from here.
__all__ = [
    "CONTRACT_COLUMNS",
    "FOOTFALL",
    "REPO",
    "SAMPLE_CAPTURES",
    "SHARED_CAPTURES",
    "Collected",
    "RefProbe",
    "Run",
    "parsed_probes",
    "read_sightings",
    "real_captures",
    "run_footfall",
    "scapy_probes",
    "tshark_fields",
    "tshark_probes",
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty working folder (data/ and secrets/ land here by default)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


# --- outputs shared by the privacy tests (collected once per session) ------------------------


@dataclass(frozen=True)
class Collected:
    """A workspace after `footfall collect` and `footfall run`, and what they printed."""

    workspace: Path
    captures: list[Path]
    console: str

    @property
    def data(self) -> Path:
        return self.workspace / "data"


def _collect_and_run(
    workspace: Path, batches: list[tuple[list[Path], str, str]], config: Path | None = None
) -> Collected:
    workspace.mkdir(parents=True)
    if config is not None:
        shutil.copy(config, workspace / "footfall.toml")
    console = ""
    for captures, store, sensor in batches:
        collect = run_footfall("collect", *captures, "--store", store, "--sensor", sensor, cwd=workspace)
        assert collect.returncode == 0, collect.output
        console += collect.output
    pipeline = run_footfall("run", cwd=workspace)
    assert pipeline.returncode == 0, pipeline.output
    assert any((workspace / "data" / "marts" / "daily").rglob("*.parquet"))
    return Collected(workspace, [c for captures, _, _ in batches for c in captures], console + pipeline.output)


@pytest.fixture(scope="session")
def shared_outputs(tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """Every capture of ../shared/captures collected as one store, and the pipeline run.
    Read-only: copy it (shutil.copytree) before changing anything."""
    workspace = tmp_path_factory.mktemp("shared-outputs") / "work"
    return _collect_and_run(workspace, [(real_captures(), "lab", "s1")])


DEMO_CONFIG = SAMPLE_CAPTURES / "brno.toml"  # make demo copies it to demo/footfall.toml


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """What `make demo` writes: the two sensors of the Brno sample day with the lab's
    configuration, and the pipeline run. Read-only: copy it before changing anything."""
    workspace = tmp_path_factory.mktemp("demo-outputs") / "work"
    sensors = ["position_1", "position_2"]
    batches = [([SAMPLE_CAPTURES / f"brno_{sensor}_2024-03-15.pcap.gz"], "demo", sensor) for sensor in sensors]
    return _collect_and_run(workspace, batches, config=DEMO_CONFIG)


TWO_STORES_DAYS = ["2024-05-13", "2024-05-14", "2024-05-15", "2024-05-16", "2024-05-17", "2024-05-18"]
SOUTH_MISSING_DAY = "2024-05-16"  # south's sensor captured nothing that day: no data, not zero


@pytest.fixture(scope="session")
def two_stores_outputs(tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """Two simulated stores (sample_captures/synthetic_store.py) over six days, south
    without captures on SOUTH_MISSING_DAY and with about 3 visitors every other day,
    collected and run with k = 5: real marts over several days, with suppressed days
    and cells and a missing day. Read-only."""
    from synthetic_store import StoreSpec, generate

    workspace = tmp_path_factory.mktemp("two-stores") / "work"
    workspace.mkdir(parents=True)
    config = "[privacy]\nk = 5\n"
    for store in ("north", "south"):
        config += f'[stores.{store}]\ntimezone = "Europe/Prague"\nopening_hours = "09:00-20:00"\n'
        config += f"[stores.{store}.sensors.s1]\n"
    (workspace / "footfall.toml").write_text(config)
    captures = []
    for number, day in enumerate(TWO_STORES_DAYS):
        for store, visitors in (("north", 50 + 7 * number), ("south", 3 if number % 2 == 0 else 14)):
            if store == "south" and day == SOUTH_MISSING_DAY:
                continue
            folder = workspace / "captures" / f"{store}-{day}"
            spec = StoreSpec(store=store, day=day, visitors=visitors, passersby=2 * visitors, staff=1, fixed_devices=1)
            generate(folder, spec, seed=number)
            collect = run_footfall("collect", folder / "s1.pcap", "--store", store, "--sensor", "s1", cwd=workspace)
            assert collect.returncode == 0, collect.output
            captures.append(folder / "s1.pcap")
    pipeline = run_footfall("run", cwd=workspace)
    assert pipeline.returncode == 0, pipeline.output
    return Collected(workspace, captures, pipeline.output)
