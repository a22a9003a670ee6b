"""The documentation keeps in step with the code (as sqlite-utils' docs test does): a
command, an option, a configuration key or an output column that docs/ does not
mention fails here, and so does a generated page (the data dictionary, the privacy
report's keys and schema) that differs from what the code generates. The README is a
landing page from which every page of docs/ can be reached."""

from __future__ import annotations

import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel

from footfall import cli, outputs, reference_docs
from footfall.config import FileSettings

from capture_files import REPO

DOCS = REPO / "docs"
README = REPO / "README.md"


def pages() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md"))}


@pytest.mark.parametrize("name", sorted(reference_docs.generated_files()))
def test_generated_pages_are_what_the_code_generates(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == reference_docs.generated_files()[name], f"docs/{name} is stale: run `make docs`"


# --- commands and options ------------------------------------------------------------------


def commands(group: Any, path: str = "footfall") -> list[tuple[str, Any]]:
    """Every command of the CLI (typer's click commands: a group has `commands`)."""
    found = [(path, group)]
    for name, command in sorted(getattr(group, "commands", {}).items()):
        found += commands(command, f"{path} {name}")
    return found


COMMANDS = commands(typer.main.get_command(cli.app))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_command_and_option_is_documented(path: str, command: Any) -> None:
    mentioning = [text for text in pages().values() if path in text]
    assert mentioning, f"`{path}` is not documented in docs/"
    for parameter in command.params:
        for option in (*parameter.opts, *parameter.secondary_opts):
            if option.startswith("--") and option != "--help":
                assert any(option in text for text in mentioning), f"`{path} {option}` is not documented in docs/"


def test_the_command_walk_sees_every_command() -> None:
    """So the test above cannot pass by walking nothing."""
    paths = {path for path, _ in COMMANDS}
    assert {"footfall collect", "footfall run", "footfall privacy audit", "footfall optout add"} <= paths


# --- configuration keys ----------------------------------------------------------------------


def model_of(annotation: object) -> tuple[type[BaseModel] | None, bool]:
    """The section model a field holds, and whether it is a table of them (stores.NAME)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if typing.get_origin(annotation) is dict:
        inner = typing.get_args(annotation)[1]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner, True
    return None, False


def accepted_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        inner, table = model_of(field.annotation)
        if inner is None:
            keys.add(prefix + name)
        else:
            keys |= accepted_keys(inner, f"{prefix}{name}.{'*.' if table else ''}")
    return keys


def documented_keys(model: type[BaseModel], values: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, value in values.items():
        inner, table = model_of(model.model_fields[name].annotation)
        if inner is None:
            keys.add(prefix + name)
        elif table:
            for entry in value.values():
                keys |= documented_keys(inner, entry, f"{prefix}{name}.*.")
        else:
            keys |= documented_keys(inner, value, f"{prefix}{name}.")
    return keys


def test_every_configuration_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    examples = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert examples
    documented: set[str] = set()
    for example in examples:
        values = tomllib.loads(example)
        FileSettings.model_validate(values)  # the documented example loads as it is
        documented |= documented_keys(FileSettings, values)
    undocumented = accepted_keys(FileSettings) - documented
    assert not undocumented, f"configuration keys not in docs/configuration.md: {sorted(undocumented)}"
    assert {"privacy.k", "stores.*.sensors.*.rssi_threshold_dbm"} <= accepted_keys(FileSettings)


# --- output columns ----------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", outputs.DATASETS, ids=lambda d: d.name)
def test_every_output_column_is_documented(dataset: outputs.Dataset) -> None:
    dictionary = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    section = dictionary.split(f"## `{dataset.name}`\n", 1)
    assert len(section) == 2, f"{dataset.name} has no section in docs/data-dictionary.md"
    own = section[1].split("\n## ", 1)[0]
    for column in (*dataset.columns, *dataset.partitions):
        assert f"| `{column.name}`" in own, f"{dataset.name}.{column.name} is not in docs/data-dictionary.md"
    assert any(f"`{dataset.name}`" in text for name, text in pages().items() if name != "data-dictionary.md")


# --- a landing page and pages one can walk -------------------------------------------------------


def links(path: Path) -> list[Path]:
    """The files a Markdown file links to (web addresses and anchors left out)."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8"))
    return [(path.parent / target).resolve() for target in targets if "://" not in target]


def test_every_page_can_be_reached_from_the_readme_and_every_link_works() -> None:
    reached, todo = set(), [README.resolve()]
    while todo:
        page = todo.pop()
        for target in links(page):
            assert target.exists(), f"{page.name} links to {target}, which does not exist"
            if target.suffix == ".md" and target not in reached:
                reached.add(target)
                todo.append(target)
    unreachable = {p.name for p in DOCS.glob("*.md")} - {p.name for p in reached}
    assert not unreachable, f"not reachable from the README: {sorted(unreachable)}"


def test_the_readme_is_a_landing_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 170
    assert "make demo" in text and "make test" in text
    for word in ("epoch", "pseudonym", "mart", "**k**"):
        assert word in text.split("## Glossary", 1)[1], word
    for reader in ("Store manager", "Analyst", "Privacy officer", "Installer"):
        assert f"**{reader}**" in text.split("## Start here", 1)[1], reader
