"""A plain (not editable) install carries everything: the C parser, the modules of
collector/, pipeline/ and dashboard/, their data files, and the console script."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from capture_files import REPO, SHARED_CAPTURES


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The wheel, and what building it printed."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
    )
    (found,) = out.glob("footfall-*.whl")
    return found, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(built: tuple[Path, str]) -> Path:
    return built[0]


def test_the_build_says_nothing_alarming(built: tuple[Path, str]) -> None:
    """Issue 13: a newcomer's install printed 40 lines of setuptools warnings about
    footfall.dashboard.app_pages, a folder of data files it did not list as a package."""
    log = built[1]
    for alarm in ("Package would be ignored", "is absent from the `packages` configuration", "DeprecationWarning"):
        assert alarm not in log, log[log.find(alarm) - 500 : log.find(alarm) + 500]


def test_wheel_holds_every_part(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("footfall/collector/_probes") and n.endswith(".so") for n in names)
    for module in [
        "footfall/cli.py",
        "footfall/config.py",
        "footfall/collector/collect.py",
        "footfall/privacy/audit.py",
        "footfall/pipeline/__init__.py",
        "footfall/dashboard/__init__.py",
        "footfall/dashboard/app_pages/overview.py",
    ]:
        assert module in names, module
    tracked = subprocess.run(["git", "ls-files", "pipeline", "dashboard"], cwd=REPO, capture_output=True, text=True)
    for source in tracked.stdout.split():
        if source.endswith((".sql", ".py")):
            assert f"footfall/{source}" in names, f"{source} is not shipped"
    listed = subprocess.run(["git", "ls-files", "footfall/privacy/templates"], cwd=REPO, capture_output=True, text=True)
    templates = listed.stdout.split()
    assert templates, "the notice's wording ships as templates"
    for source in templates:
        assert source in names, f"{source} is not shipped"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "footfall = footfall.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_collects_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    capture = SHARED_CAPTURES / "formats" / "tcpdump_ieee802.11_exthdr.pcap"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import footfall.cli, sys; sys.argv[0] = 'footfall'; footfall.cli.main()",
            "collect",
            str(capture),
            "--store",
            "s",
            "--sensor",
            "x",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "probe requests kept 6" in done.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import footfall.collector._probes as m; print(m.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(target))
