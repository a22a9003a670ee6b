"""MAC addresses and vendor prefixes as people type them (the opt-out command, the
store's equipment list in the configuration).

Shared by the configuration (which validates the equipment list on load) and the
collector (which matches frames against it), so it lives in the common layer: the
configuration never imports the collector. Error messages never repeat an input
that may be someone's address.
"""

from __future__ import annotations

import re

from footfall.errors import FootfallError

_SEPARATORS = re.compile(r"[:\-.\s]")
_HEX = re.compile(r"^[0-9a-f]+$")
_HEX_MAC = re.compile(r"^[0-9a-f]{12}$")


def _digits(text: str) -> str:
    return _SEPARATORS.sub("", text.strip().lower())


def parse_mac(text: str) -> bytes:
    """aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff or aabbccddeeff -> 6 bytes.

    The error never repeats the input: it may be someone's address with a typo."""
    digits = _digits(text)
    if not _HEX_MAC.match(digits):
        raise FootfallError("not a MAC address (expected 6 hex bytes, like aa:bb:cc:dd:ee:ff)")
    return bytes.fromhex(digits)


def is_locally_administered(mac: bytes) -> bool:
    """The address's locally-administered bit (0x02 of its first byte): a random
    address a phone draws and changes, not the one its maker gave it."""
    return bool(mac[0] & 0x02)


def parse_prefix(text: str) -> tuple[int, int]:
    """'dc:fb:48' -> (0xdcfb48, 24): the value and its length in bits (1 to 6 bytes).
    A ValueError, so that the configuration's validation names the key. The error never
    repeats the input: a whole address is someone's device (a typo in an address too)."""
    digits = _digits(text)
    if not _HEX.match(digits) or len(digits) % 2 or not 2 <= len(digits) <= 12:
        raise ValueError("not a MAC address or prefix (1 to 6 hex bytes, like 'dc:fb:48')")
    return int(digits, 16), 4 * len(digits)
