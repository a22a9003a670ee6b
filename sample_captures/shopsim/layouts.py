"""Element layouts as a real crowd shows them: one per firmware family and OS version.

A probe request's elements say what the chip and its driver can do (rates, HT/VHT/HE
capabilities, extended capabilities, vendor elements); footfall keeps a keyed hash of
that layout, which survives address changes. Phones of one family on one OS version
send the same layout, so identical phones are common: the newest OS of a family runs
on about 60 % of its phones, and the most popular family's newest layout holds about
a tenth of the crowd. The layouts are derived deterministically from the family name,
so that every simulated day draws from the same catalogue; only the popularity of the
families changes from seed to seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import numpy as np

from radiotap_pcap import EXT_RATES, RATES, Elements

APPLE_OUI = b"\x00\x17\xf2"
BROADCOM_OUI = b"\x00\x10\x18"
MICROSOFT_OUI = b"\x00\x50\xf2"
EPIGRAM_OUI = b"\x00\x90\x4c"
QUALCOMM_OUI = b"\x8c\xfd\xf0"
MEDIATEK_OUI = b"\x00\x0c\xe7"


@dataclass(frozen=True)
class Family:
    name: str
    os: str  # ios | android | device
    weight: float  # popularity among the phones of its OS
    versions: int  # OS versions seen in a crowd, newest first
    vendors: tuple[bytes, ...]  # vendor elements (OUI) it adds
    vht: bool
    he: bool


FAMILIES = [
    Family("apple-a13", "ios", 0.40, 5, (BROADCOM_OUI, APPLE_OUI), True, True),
    Family("apple-a15", "ios", 0.30, 5, (BROADCOM_OUI, APPLE_OUI), True, True),
    Family("apple-a11", "ios", 0.18, 4, (BROADCOM_OUI, APPLE_OUI), True, False),
    Family("apple-a17", "ios", 0.12, 3, (BROADCOM_OUI, APPLE_OUI), True, True),
    Family("samsung-qc", "android", 0.26, 5, (QUALCOMM_OUI, MICROSOFT_OUI), True, True),
    Family("samsung-exynos", "android", 0.18, 5, (BROADCOM_OUI, MICROSOFT_OUI), True, True),
    Family("xiaomi", "android", 0.13, 5, (QUALCOMM_OUI,), True, False),
    Family("pixel", "android", 0.11, 4, (BROADCOM_OUI,), True, True),
    Family("oppo", "android", 0.09, 4, (MEDIATEK_OUI, MICROSOFT_OUI), True, False),
    Family("huawei", "android", 0.08, 4, (EPIGRAM_OUI,), False, False),
    Family("motorola", "android", 0.06, 4, (QUALCOMM_OUI,), True, False),
    Family("oneplus", "android", 0.05, 4, (QUALCOMM_OUI, MICROSOFT_OUI), True, True),
    Family("realme", "android", 0.04, 3, (MEDIATEK_OUI,), False, False),
    # fixed equipment
    Family("pos-tablet", "device", 1.0, 1, (MEDIATEK_OUI,), False, False),
    Family("laptop", "device", 1.0, 1, (MICROSOFT_OUI,), True, True),
    Family("label-printer", "device", 1.0, 1, (MICROSOFT_OUI,), False, False),
]


def _tail(os: str, prefix: str, count: int) -> list[Family]:
    """The long tail of a crowd: many models, each on few phones (Zipf weights)."""
    out = []
    for k in range(count):
        rng = random.Random(f"tail-{prefix}-{k}")
        vendors = tuple(
            rng.sample([BROADCOM_OUI, QUALCOMM_OUI, MEDIATEK_OUI, MICROSOFT_OUI, EPIGRAM_OUI], rng.randint(1, 2))
        )
        if os == "ios":
            vendors = (BROADCOM_OUI, APPLE_OUI)
        out.append(
            Family(
                f"{prefix}-{k:02d}", os, 1 / (k + 5), rng.randint(2, 4), vendors, rng.random() < 0.6, rng.random() < 0.3
            )
        )
    return out


# Beyond the popular families, a real crowd holds many models of few phones each (most
# global addresses in the Brno captures have a layout of their own).
TAILS = {"android": _tail("android", "android-model", 60), "ios": _tail("ios", "apple-old", 4)}
TAIL_SHARE = {"android": 0.25, "ios": 0.05}  # of the phones of that OS, and twice that for fixed-address phones
BY_NAME = {f.name: f for f in FAMILIES + TAILS["android"] + TAILS["ios"]}


@cache
def elements(family: str, version: int, secondary: bool = False) -> Elements:
    """The layout of a family on an OS version (0 = newest). The secondary layout is the
    one some phones use for part of their scans (another scan type: one element more)."""
    f = BY_NAME[family]
    rng = random.Random(f"layout-{family}")  # the family's chip: stable across runs
    ht = bytes([rng.choice((0x2D, 0x6F, 0xEF, 0x21)), rng.choice((0x01, 0x09, 0x19))]) + rng.randbytes(24)
    ext_caps = bytearray(rng.randbytes(rng.choice((8, 9, 10))))
    ext_caps[-1] ^= (version * 37 + 5) & 0xFF  # what an OS version announces differs in these bits
    ext_caps[0] ^= (version * 11) & 0xFF
    out: Elements = [(1, RATES), (50, EXT_RATES), (3, bytes([6])), (45, ht), (127, bytes(ext_caps))]
    if f.vht:
        out.append((191, rng.randbytes(12)))
    if f.he:  # HE capabilities: MAC (6), PHY (11: 20/40 MHz widths, no PPE thresholds), MCS set (4)
        mac = bytearray(rng.randbytes(6))
        mac[-1] ^= version
        phy = bytearray(rng.randbytes(11))
        phy[0] = 0x02 | (phy[0] & 0x04)
        phy[2] &= 0x7F
        out.append((255, bytes([35]) + bytes(mac) + bytes(phy) + rng.randbytes(4)))
    for oui in f.vendors:
        out.append((221, oui + bytes([rng.choice((2, 8, 10, 11)), 0]) + rng.randbytes(3)))
    if f.os == "ios":  # Apple's order: vendor elements before the capabilities that follow HT
        out = out[:4] + [e for e in out[4:] if e[0] == 221] + [e for e in out[4:] if e[0] != 221]
    if secondary:
        out.append((107, bytes([0x0F])))  # interworking: a different scan type
    return out


def version_weights(versions: int, newest_share: float) -> np.ndarray:
    """The newest OS on `newest_share` of a family's phones, the rest on older ones."""
    older = np.array([0.45, 0.25, 0.15, 0.1, 0.05])[: versions - 1]
    weights = np.concatenate([[newest_share], (1 - newest_share) * older / older.sum()]) if versions > 1 else [1.0]
    return np.asarray(weights, float)


def family_weights(os: str, rng: np.random.Generator, tail_boost: float = 1.0) -> tuple[list[str], np.ndarray]:
    """The families of an OS and their popularity on this day (a little different per
    seed); `tail_boost` multiplies the share of the long tail (older, rarer phones)."""
    major = [f for f in FAMILIES if f.os == os]
    tail = TAILS[os]
    share = min(0.9, TAIL_SHARE[os] * tail_boost)
    weights = np.concatenate(
        [
            (1 - share) * _normalised([f.weight for f in major], rng),
            share * _normalised([f.weight for f in tail], rng),
        ]
    )
    return [f.name for f in major + tail], weights


def _normalised(base: list[float], rng: np.random.Generator) -> np.ndarray:
    weights = np.array(base) * np.exp(rng.normal(0, 0.25, len(base)))
    return weights / weights.sum()
