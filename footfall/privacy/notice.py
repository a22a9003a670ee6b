"""`footfall privacy notice`: the customer-facing notice, generated from the same
configuration the system runs on, so the sign on the door cannot drift from it.

Two lengths: a `sign` short enough for the entrance, and a `web` page that says the
same at length. Both carry what GDPR art. 13 asks of a notice: the controller and its
contact, the data protection officer, the purpose and the legal basis (with the
balancing of interests when the basis is a legitimate interest), how long each tier is
kept, the rights (to object, through the opt-out list, for future counting; access and
erasure while the key lives) and the supervisory authority. What the system cannot
know (who runs it, on what basis, who to complain to) comes from the `[notice]` keys;
a key left out is said in brackets and named on stderr, never invented.

The wording is in templates/notice_sign.md and notice_web.md (with notice_kept.md,
the retention list both share); this module only works out the values they name from
the configuration. Both come as Markdown or HTML (rendered from the Markdown: every
configured value is escaped, a controller's name is text, never markup).
"""

from __future__ import annotations

from typing import Literal

from footfall.config import Settings
from footfall.privacy import documents, wording

Kind = Literal["sign", "web"]
Format = Literal["md", "html"]

# The [notice] keys a notice must not do without (GDPR art. 13), and what it says
# in their place when one is missing.
NEEDED = {
    "controller": "the store",
    "contact": "a contact",
    "dpo": "the data protection officer",
    "legal_basis": "the legal basis",
    "authority": "the supervisory authority",
}
_EPOCH = {"hour": "every hour", "day": "every day", "week": "every week"}
_HOURLY_SIGN = "Hourly keys count stays past the hour twice."  # the sign is short: the caveat too


def missing(settings: Settings) -> list[str]:
    """The [notice] keys a notice needs and the configuration lacks."""
    notice = settings.file.notice
    return [f"notice.{key}" for key in NEEDED if not getattr(notice, key)]


def values(settings: Settings) -> dict[str, str]:
    """What the templates' placeholders stand for, in this configuration; a missing
    key is said, in brackets, never invented."""
    notice = settings.file.notice
    privacy = settings.privacy
    retention = settings.file.retention
    smallest = _smallest(privacy.k)
    kept = documents.template("notice_kept.md").substitute(
        sightings=_kept(retention.sightings),
        visits=_kept(retention.visits),
        marts=_kept(retention.marts),
        smallest=smallest,
    )
    given = {key: getattr(notice, key) or f"[{what}: set notice.{key}]" for key, what in NEEDED.items()}
    return {
        **given,
        "every": _EPOCH[privacy.epoch],
        "period": privacy.epoch,
        "grace": wording.hours(privacy.salt_grace_hours),
        "smallest": smallest,
        "kept": kept.rstrip("\n"),
        "balancing": _balancing(settings),
        # an hourly key splits a stay at the hour (wording.HOURLY_EPOCH_INFLATES)
        "caveat_sign": f" {_HOURLY_SIGN}" if privacy.epoch == "hour" else "",
        "caveat": f" {wording.HOURLY_EPOCH_INFLATES}" if privacy.epoch == "hour" else "",
    }


def _balancing(settings: Settings) -> str:
    """For a legitimate interest (art. 6(1)(f)), why it does not override the customer's:
    what the system does, from the configuration. Nothing when the basis is another."""
    basis = (settings.file.notice.legal_basis or "").lower()
    if "legitimate interest" not in basis and "6(1)(f)" not in basis:
        return ""
    privacy, retention = settings.privacy, settings.file.retention
    floor = f" of at least {privacy.k} people" if privacy.k > 1 else ""
    return (
        f" We have weighed this interest against yours: we keep no name and no network name, the address is "
        f"scrambled before anything is stored, a phone can be recognised for one {privacy.epoch} at most, records "
        f"of single visits are deleted after {wording.days(retention.visits, forever='a period we set')}, only "
        f"totals{floor} are published, and you can object at any time (below)."
    )


def markdown(settings: Settings, kind: Kind = "sign") -> str:
    return documents.template(f"notice_{kind}.md").substitute(values(settings))


def render(settings: Settings, kind: Kind = "sign", fmt: Format = "md") -> str:
    text = markdown(settings, kind)
    if fmt == "html":
        title = text.splitlines()[0].removeprefix("# ")
        return documents.html_page(title, text)
    return text


def _kept(days: int) -> str:
    return wording.days(days, forever="kept without a time limit")


def _smallest(k: int) -> str:
    """How small a published total may be (k = 1 suppresses nothing: say nothing false)."""
    return f", none below {k} people" if k > 1 else ""
