"""The privacy documents (the notice, the report) as people read them: written in
Markdown, from templates shipped beside this module (templates/), and turned into an
HTML page here, once, for all of them.

Markdown to HTML is markdown-it's CommonMark with raw HTML off: every configured
value (a controller's name, a contact) reaches the page as text, escaped, never as
markup. The templates use string.Template's `$name` placeholders; the code fills them
with values and sentences, never with wording of its own.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from string import Template

from markdown_it import MarkdownIt


@cache
def template(name: str) -> Template:
    """A template of templates/ (e.g. `notice_sign.md`)."""
    return Template(resources.files("footfall.privacy").joinpath("templates", name).read_text(encoding="utf-8"))


def html_page(title: str, markdown: str) -> str:
    """A standalone HTML page of a Markdown document."""
    body = MarkdownIt("commonmark", {"html": False}).render(markdown)
    return template("page.html").substitute(title=html.escape(title), body=body)
