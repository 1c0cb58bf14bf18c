"""The frame around every page, and keeping it when a page is started without ``app.py``."""

from __future__ import annotations

import streamlit as st

from cubescope_ui.picker import cube_picker


def frame() -> None:
    """What surrounds every page: page settings and the sidebar's cube picker."""
    st.set_page_config(page_title="Cubescope", page_icon=":material/satellite_alt:", layout="wide")
    cube_picker(max_upload_mb=st.get_option("server.maxUploadSize"))


def require_navigation() -> None:
    """Draw the frame if this page script was started in legacy multipage mode.

    Streamlit decides once per process whether a ``pages/`` folder next to the entry point
    means the legacy multipage mode: until some session has called ``st.navigation``, it does.
    So when the first request a new server gets is a link to a page (``/smoothing?...``), that
    page's script runs on its own, without ``app.py``. Drawing the frame here gives the user the
    same page; marking the app as an ``st.navigation`` app makes every later run normal.
    (Streamlit's AppTest starts every run this way, so its tests see the same page too.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        frame()
