"""`footfall privacy notice`: generated from the configuration, so it changes with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from footfall_command import run_footfall

NOTICE_KEYS = ("controller", "contact", "dpo", "legal_basis", "authority")
BASE = {
    "epoch": "day",
    "sightings": 1,
    "visits": 30,
    "marts": 0,
    "controller": "Demo Shop Ltd",
    "contact": "privacy@example.com",
    "dpo": "Jane Doe, dpo@example.com",
    "legal_basis": "legitimate interest (art. 6(1)(f)): counting visits to plan staffing",
    "authority": "the Office for Personal Data Protection, Pplk. Sochora 27, Prague",
}


def _config(values: dict) -> str:
    notice = "".join(f"{key} = {_toml(values[key])}\n" for key in NOTICE_KEYS if values.get(key) is not None)
    return (
        f'[privacy]\nepoch = "{values["epoch"]}"\n'
        f"[retention]\nsightings = {values['sightings']}\nvisits = {values['visits']}\nmarts = {values['marts']}\n"
        f"[notice]\n{notice}"
    )


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _notice(workspace: Path, values: dict, *args: str) -> str:
    (workspace / "footfall.toml").write_text(_config(values))
    run = run_footfall("privacy", "notice", *args, cwd=workspace)
    assert run.returncode == 0, run.output
    return run.stdout


@pytest.mark.parametrize("kind", ["sign", "web"])
@pytest.mark.parametrize(
    ("key", "value", "shown", "gone"),
    [
        ("sightings", 7, "Sightings (one record per signal heard): 7 days", "signal heard): 1 day"),
        ("visits", 90, "arrived and left): 90 days", "arrived and left): 30 days"),
        ("marts", 365, "people): 365 days", "without a time limit"),
        ("contact", "dpo@shop.example", "dpo@shop.example", "privacy@example.com"),
        ("controller", "Corner Store Co", "Corner Store Co", "Demo Shop Ltd"),
        ("epoch", "week", "every week", "every day"),
    ],
)
def test_the_notice_follows_the_configuration(
    workspace: Path, kind: str, key: str, value: object, shown: str, gone: str
) -> None:
    before = _notice(workspace, BASE, "--kind", kind)
    after = _notice(workspace, {**BASE, key: value}, "--kind", kind)
    assert gone in before and shown not in before
    assert shown in after and gone not in after


def test_the_sign_is_short_and_says_what_matters(workspace: Path) -> None:
    sign = _notice(workspace, BASE)
    web = _notice(workspace, BASE, "--kind", "web")
    words = len(re.findall(r"\w+", sign))
    assert words <= 220, words  # readable standing at a door, with every item GDPR art. 13 asks for
    assert len(re.findall(r"\w+", web)) > 2 * words
    for text in (sign, web):
        for needed in ("device address", "signal strength", "time", "names", "phone numbers", "network names"):
            assert needed in text, needed
        assert "Wi-Fi off" in text and "privacy@example.com" in text and "Demo Shop Ltd" in text
    assert "How long we keep it" in sign and "- Visits (when a device arrived and left): 30 days" in sign


def test_html_escapes_the_configured_values(workspace: Path) -> None:
    values = {**BASE, "controller": 'Tom & Jerry <script>alert("x")</script>', "contact": "<b>dpo</b>@x.example"}
    for kind in ("sign", "web"):
        page = _notice(workspace, values, "--format", "html", "--kind", kind)
        assert "<script>" not in page and "<b>" not in page
        assert "Tom &amp; Jerry &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
        assert "&lt;b&gt;dpo&lt;/b&gt;@x.example" in page
        assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_a_missing_key_is_named_not_invented(workspace: Path) -> None:
    run = run_footfall("privacy", "notice", cwd=workspace)
    assert run.returncode == 0
    (note,) = run.stderr.splitlines()
    assert note.startswith("footfall: note: not set in the configuration")
    for key in NOTICE_KEYS:
        assert f"notice.{key}" in note and f"set notice.{key}]" in run.stdout, key


@pytest.mark.parametrize("kind", ["sign", "web"])
@pytest.mark.parametrize("key", NOTICE_KEYS)
def test_gdpr_article_13_items_come_from_the_configuration(workspace: Path, kind: str, key: str) -> None:
    """Controller and contact, DPO, legal basis, supervisory authority: each is printed as
    configured, and a missing one is a bracket naming the key, while the others stay."""
    complete = _notice(workspace, BASE, "--kind", kind)
    for name in NOTICE_KEYS:
        assert BASE[name] in complete, name
    assert "[" not in complete
    (workspace / "footfall.toml").write_text(_config({**BASE, key: None}))
    run = run_footfall("privacy", "notice", "--kind", kind, cwd=workspace)
    assert run.returncode == 0 and f"notice.{key}" in run.stderr
    assert BASE[key] not in run.stdout and f"set notice.{key}]" in run.stdout
    for name in set(NOTICE_KEYS) - {key}:
        assert BASE[name] in run.stdout, name


def test_the_rights_and_the_balancing_are_stated(workspace: Path) -> None:
    web = _notice(workspace, BASE, "--kind", "web")
    sign = _notice(workspace, BASE)
    for text in (web, sign):
        assert "object" in text and "erasure" in text and "complain" in text, text
    assert "applies to future counting" in web and "opt-out list" in web
    assert "We have weighed this interest against yours" in web and "at least 5 people" in web
    consent = _notice(
        workspace, {**BASE, "legal_basis": "your consent (art. 6(1)(a)), given at the entrance"}, "--kind", "web"
    )
    assert "weighed" not in consent, "no balancing of interests for another legal basis"


def test_with_k_1_the_notice_promises_no_smallest_total(tmp_path: Path) -> None:
    """k = 1 publishes every count: the notice must not claim a floor it does not keep."""
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 1\n")
    run = run_footfall("privacy", "notice", "--kind", "web", cwd=tmp_path)
    assert run.returncode == 0 and "none below" not in run.stdout and "no total below" not in run.stdout
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 4\n")
    assert "none below 4 people" in run_footfall("privacy", "notice", cwd=tmp_path).stdout


@pytest.mark.parametrize("kind", ["sign", "web"])
def test_an_hourly_key_is_said_to_overstate_visitors(workspace: Path, kind: str) -> None:
    """A phone's code changes on the hour: a stay past the hour counts twice."""
    daily = _notice(workspace, BASE, "--kind", kind)
    hourly = _notice(workspace, {**BASE, "epoch": "hour"}, "--kind", kind)
    assert "twice" not in daily and "counts as two" not in daily
    assert "past the hour twice" in hourly or "counts as two visitors" in hourly
    assert len(re.findall(r"\w+", hourly)) <= 230 or kind == "web"  # GDPR art. 13 items and the caveat
    report = run_footfall("privacy", "report", "--format", "json", cwd=workspace)
    explanation = " ".join(json.loads(report.stdout)["explanation"])
    assert "counts as two visitors" in explanation and "overstated" in explanation
