"""`footfall privacy notice`: the customer-facing notice, generated from the same
configuration the system runs on, so the sign on the door cannot drift from it.

Two lengths: a `sign` short enough for the entrance, and a `web` page that says the
same at length. Both come as Markdown or HTML; in HTML every configured value is
escaped (a controller's name is text, never markup).
"""

from __future__ import annotations

import html
from typing import Literal

from footfall.config import Settings
from footfall.privacy import wording

Kind = Literal["sign", "web"]
Format = Literal["md", "html"]

_EPOCH = {"hour": "every hour", "day": "every day", "week": "every week"}
_EPOCH_NOUN = {"hour": "hour", "day": "day", "week": "week"}
KEPT = "How long we keep it"
_HOURLY_SIGN = "Hourly keys count stays past the hour twice."


def missing(settings: Settings) -> list[str]:
    """The [notice] keys a notice needs and the configuration lacks."""
    notice = settings.file.notice
    return [f"notice.{key}" for key in ("controller", "contact") if not getattr(notice, key)]


def build(settings: Settings, kind: Kind = "sign") -> tuple[str, list[tuple[str, list[str]]]]:
    """The notice's title and sections (heading, paragraphs), before rendering."""
    notice = settings.file.notice
    controller = notice.controller or "[the store: set notice.controller]"
    contact = notice.contact or "[a contact: set notice.contact]"
    privacy = settings.privacy
    retention = settings.file.retention
    every, period = _EPOCH[privacy.epoch], _EPOCH_NOUN[privacy.epoch]
    kept = [
        f"Sightings (one record per signal heard): {_kept(retention.sightings)}",
        f"Visits (when a device arrived and left): {_kept(retention.visits)}",
        f"Totals (counts per hour and day{_smallest(privacy.k)}): {_kept(retention.marts)}",
    ]
    if kind == "sign":
        return "Wi-Fi visitor counting in this store", [
            (
                "",
                [
                    f"{controller} counts visitors with Wi-Fi sensors. Phones with Wi-Fi on send out signals; "
                    "we record a random-looking device address, signal strength and time, scrambled at once "
                    f"with a key that changes {every} and is then destroyed.",
                    "We never collect names, phone numbers, network names or anything you send or receive.",
                    "Why: to count visitors and how long visits last. We publish only totals.",
                    *([_HOURLY_SIGN] if privacy.epoch == "hour" else []),
                ],
            ),
            (KEPT, kept),
            (
                "Your choice",
                [
                    "Turn Wi-Fi off to be invisible to the sensors, or ask us to ignore your device's address.",
                    f"Questions, or to opt out: {contact}",
                ],
            ),
        ]
    return "How we count visitors with Wi-Fi", [
        ("Who we are", [f"{controller} runs Wi-Fi sensors in its stores to count visitors. Contact: {contact}."]),
        (
            "What we collect",
            [
                'A phone with Wi-Fi switched on regularly sends short "probe requests" to look for networks. '
                "Our sensors hear them and keep, for each: a device address (on most phones a random-looking "
                "one that the phone changes from time to time), the signal strength, and the time."
            ],
        ),
        (
            "What we do not collect",
            [
                "No names, no phone numbers, no accounts, no photos or video.",
                "No network names: we never keep the names of the networks your phone looks for (they could "
                "reveal where you live).",
                "Nothing you send or receive: the sensors never connect to your phone.",
            ],
        ),
        (
            "Why",
            [
                "To count how many people visit, when, and for how long, so that we can plan staff and opening "
                f"hours. We publish only totals{_smallest(privacy.k)}.",
                *([wording.HOURLY_EPOCH_INFLATES] if privacy.epoch == "hour" else []),
            ],
        ),
        (
            "How the address is protected",
            [
                "Before anything is stored, the address is replaced by a code computed with a secret key "
                f"(a keyed hash, HMAC-SHA256). The key changes {every} and is destroyed "
                f"{wording.hours(privacy.salt_grace_hours)} after the {period} ends. After that nobody, including us, "
                f"can tell which device a code stood for, or link it to a code of another {period}."
            ],
        ),
        (KEPT, kept),
        (
            "Your choices",
            [
                "Turn Wi-Fi off on your phone while in the store: the sensors then receive nothing from it.",
                f"Or ask us to ignore your device: send its Wi-Fi address to {contact}. We keep it only as a "
                "keyed hash and drop its signals before anything is recorded. Many phones use changing random "
                "addresses, so turning Wi-Fi off is the surer way.",
                f"For any question about this counting, or about your rights, write to {contact}.",
            ],
        ),
    ]


def render(settings: Settings, kind: Kind = "sign", fmt: Format = "md") -> str:
    title, sections = build(settings, kind)
    return _html(title, sections) if fmt == "html" else _markdown(title, sections)


def _markdown(title: str, sections: list[tuple[str, list[str]]]) -> str:
    out = [f"# {title}", ""]
    for heading, lines in sections:
        if heading:
            out += [f"## {heading}", ""]
        if heading == KEPT:
            out += [*(f"- {line}" for line in lines), ""]
        else:
            for line in lines:
                out += [line, ""]
    return "\n".join(out).rstrip() + "\n"


def _html(title: str, sections: list[tuple[str, list[str]]]) -> str:
    text = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, lines in sections:
        if heading:
            out.append(f"<h2>{html.escape(heading)}</h2>")
        if heading == KEPT:
            out.append("<ul>" + "".join(f"<li>{text(line)}</li>" for line in lines) + "</ul>")
        else:
            out += [f"<p>{text(line)}</p>" for line in lines]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _kept(days: int) -> str:
    return wording.days(days, forever="kept without a time limit")


def _smallest(k: int) -> str:
    """How small a published total may be (k = 1 suppresses nothing: say nothing false)."""
    return f", none below {k} people" if k > 1 else ""
