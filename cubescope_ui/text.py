"""Showing text that came from files or users as text, never as markdown or HTML."""

from __future__ import annotations

import re

import streamlit as st

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Escape everything markdown (and Streamlit's LaTeX ``$``) would interpret."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def error(message: object) -> None:
    st.error(plain(message), icon="⚠️")


def warning(message: object) -> None:
    st.warning(plain(message))


def info(message: object) -> None:
    st.info(plain(message))
