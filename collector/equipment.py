"""The store's own equipment, listed in the configuration by MAC address or prefix.

Some fixed devices behave like people (the PCs of a teaching lab switch on when a
class starts and off when it ends), so behaviour alone cannot tell them apart. The
store lists them (`equipment = ["dc:fb:48", "40:ec:99:12:34:56"]` under its
`[stores.NAME]` table: vendor prefixes or whole addresses of devices it owns), and
the collector drops their frames in memory, like an opt-out, before anything is
written.
"""

from __future__ import annotations

import numpy as np

from footfall.addresses import parse_prefix


class EquipmentList:
    def __init__(self, prefixes: list[str]) -> None:
        self.prefixes = [parse_prefix(p) for p in prefixes]

    def __len__(self) -> int:
        return len(self.prefixes)

    def matches(self, macs: np.ndarray) -> np.ndarray:
        """Which of these 48-bit addresses belong to listed equipment."""
        listed = np.zeros(len(macs), bool)
        for value, bits in self.prefixes:
            listed |= (macs >> np.uint64(48 - bits)) == np.uint64(value)
        return listed
