"""`footfall privacy notice`: the customer-facing notice, generated from the same
configuration the system runs on, so the sign on the door cannot drift from it.

Two lengths: a `sign` short enough for the entrance, and a `web` page that says the
same at length. The wording is in templates/notice_sign.md and notice_web.md (with
notice_kept.md, the retention list both share); this module only works out the
values they name from the configuration. Both come as Markdown or HTML (rendered
from the Markdown: every configured value is escaped, a controller's name is text,
never markup).

To say more (e.g. the GDPR art. 13 items: data protection officer, legal basis,
authority), add a `$placeholder` and its words to the templates and the value to
values() below.
"""

from __future__ import annotations

from typing import Literal

from footfall.config import Settings
from footfall.privacy import documents, wording

Kind = Literal["sign", "web"]
Format = Literal["md", "html"]

NEEDED = ("controller", "contact")  # the [notice] keys a notice must not do without
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
    return {
        "controller": notice.controller or "[the store: set notice.controller]",
        "contact": notice.contact or "[a contact: set notice.contact]",
        "every": _EPOCH[privacy.epoch],
        "period": privacy.epoch,
        "grace": wording.hours(privacy.salt_grace_hours),
        "smallest": smallest,
        "kept": kept.rstrip("\n"),
        # an hourly key splits a stay at the hour (wording.HOURLY_EPOCH_INFLATES)
        "caveat_sign": f" {_HOURLY_SIGN}" if privacy.epoch == "hour" else "",
        "caveat": f" {wording.HOURLY_EPOCH_INFLATES}" if privacy.epoch == "hour" else "",
    }


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
