"""The store's own equipment, listed in the configuration by MAC address or prefix.

Some fixed devices behave like people (the PCs of a teaching lab switch on when a
class starts and off when it ends), so behaviour alone cannot tell them apart. The
store lists them (`equipment = ["dc:fb:48", "40:ec:99:12:34:56"]` under its
`[stores.NAME]` table: vendor prefixes or whole addresses of devices it owns), and
the collector drops their frames in memory, like an opt-out, before anything is
written.
"""

from __future__ import annotations

import re

import numpy as np

_HEX = re.compile(r"^[0-9a-f]+$")


def parse_prefix(text: str) -> tuple[int, int]:
    """'dc:fb:48' -> (0xdcfb48, 24): the value and its length in bits (1 to 6 bytes)."""
    digits = re.sub(r"[:\-.\s]", "", text.strip().lower())
    if not _HEX.match(digits) or len(digits) % 2 or not 2 <= len(digits) <= 12:
        # never repeats the value: it is an address, or most of one
        raise ValueError("not a MAC address or prefix (1 to 6 hex bytes, like 'dc:fb:48')")
    return int(digits, 16), 4 * len(digits)


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
