"""Values from files render as the text they are (`cxdata.app.text.md`)."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from cxdata.app.text import WORD_JOINER, md

HOSTILE = [
    "![t](http://127.0.0.1:9/x)",
    "[click](http://127.0.0.1:9/)",
    "<http://127.0.0.1:9/>",
    "<img src=http://127.0.0.1:9/x>",
    ":red[alarm] :material/warning: $x^2$",
    "**bold** _it_ `code` ~~gone~~",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "a | b",
    "back\\slash",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_render_as_their_own_text(value):
    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(md(value))
    assert not re.search(r"<(img|a|h1|ul|ol|blockquote|em|strong|code|s|table)\b", html), html
    text = re.sub(r"<[^>]+>", "", html).strip().replace(WORD_JOINER, "")
    unescaped = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped.replace("&quot;", '"') == value


def test_bare_addresses_are_not_linked():
    """Streamlit's Markdown turns bare http:// and www. addresses into links (GFM autolink
    literals), escapes or not; an invisible word joiner keeps them text."""
    for value in ("see http://127.0.0.1:9/x", "www.example.org", "HTTPS://x.org"):
        assert not re.search(r"(https?\\?:|www\.)", md(value), re.I), md(value)


def test_plain_text_stays_readable():
    assert md("Delivery (home) 2.5 - ok") == "Delivery (home) 2.5 - ok"
    assert md("line one\nline two") == "line one line two"
