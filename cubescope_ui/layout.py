"""Page layout: an image beside its side panel (or two charts), stacked when the window is narrow."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

_CSS = Path(__file__).parent / "assets" / "layout.css"


def page_style() -> None:
    """The app's layout rules (assets/layout.css); drawn once per run, taking no space."""
    st.html(_CSS)


def two_columns(name: str, ratio: tuple[float, float] = (3, 2)) -> tuple[DeltaGenerator, DeltaGenerator]:
    """Two columns of a page section ``name`` (unique on the page): an image and its side
    panel, or two charts.

    Side by side in ``ratio`` on a wide main column; below 880 px (a 1024 px window with the
    sidebar open) the second goes under the first and both take the whole width.
    """
    with st.container(key=f"cs_split_{name}"):
        image_col, side_col = st.columns(list(ratio), gap="large")
    return image_col, side_col
