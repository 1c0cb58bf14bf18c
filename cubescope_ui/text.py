"""Showing text that came from files or users as text, never as markdown or HTML."""

from __future__ import annotations

import re

import streamlit as st

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Escape everything markdown (and Streamlit's LaTeX ``$``) would interpret."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def html_text(text: object) -> str:
    """Text from a file inside markdown that also allows HTML: neither markup nor an image
    address (``![t](http://host/t.png)``) nor KaTeX (``$x^2$``) is interpreted."""
    import html

    return plain(html.escape(str(text), quote=False))


def error(message: object) -> None:
    st.error(plain(message), icon="⚠️")


def warning(message: object) -> None:
    st.warning(plain(message))


def info(message: object) -> None:
    st.info(plain(message))
