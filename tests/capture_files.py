"""Where the captures the tests read live (the shipped samples, the shared real
captures beside the repository), and what DESIGN.md says a sighting holds."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_CAPTURES = REPO.parent / "shared" / "captures"
SAMPLE_CAPTURES = REPO / "sample_captures"


def real_captures() -> list[Path]:
    """Every capture in ../shared/captures (the tests fail, not skip, when it is missing)."""
    found = sorted(p for p in SHARED_CAPTURES.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap"))
    assert found, f"no captures under {SHARED_CAPTURES}: the tests need ../shared beside the repository"
    return found


# the sightings columns of DESIGN.md's output contract, in the order the collector writes them
CONTRACT_COLUMNS = ["ts", "sensor", "device", "randomized", "rssi", "freq_mhz", "seq", "directed", "ie_hash", "epoch"]
