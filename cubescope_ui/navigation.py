"""Keep the app in ``st.navigation`` mode even when a deep link is a fresh server's first request."""

from __future__ import annotations

import streamlit as st


def require_navigation() -> None:
    """Rerun through ``app.py`` if this page script was started in legacy multipage mode.

    Streamlit decides once per process whether a ``pages/`` folder next to the entry point
    means the legacy multipage mode: until some session has called ``st.navigation``, it does.
    So when the first request a new server gets is a link to a page (``/smoothing?...``), that
    page's script runs on its own, without the sidebar and with its URL state ignored. Telling
    Streamlit the app uses ``st.navigation`` and rerunning fixes that run and every later one.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
