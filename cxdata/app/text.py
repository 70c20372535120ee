"""Data is text, never markup: values from files and users reach the page through `md`.

Streamlit renders Markdown (and its own directives such as `:red[...]`, `:material/...:`
and `$...$`) in titles, captions, messages and labels. A stage, attribute value, column
name or persona name such as `![t](http://host/x)` would make every viewer's browser load
that address. `md` escapes every character that starts Markdown or a Streamlit directive,
so the value reads exactly as typed.
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\`*_\[\]<>!:$~|#{}])")
_BLOCK_START = re.compile(r"^(\s*\d*)([-+=>.)])")
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(?=\\?://)|(?<=\bwww)(?=\.)", re.I)
WORD_JOINER = "\u2060"
"""Invisible, and breaks the bare-URL autolinks Streamlit's Markdown adds (escapes do not)."""


def md(value: object) -> str:
    """`value` as literal text inside Markdown (line breaks become spaces)."""
    text = " ".join(str(value).splitlines())
    text = _INLINE.sub(r"\\\1", text)
    text = _AUTOLINK.sub(WORD_JOINER, text)
    return _BLOCK_START.sub(r"\1\\\2", text)
