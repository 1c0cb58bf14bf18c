"""Importing what the pages need once, before a first page is drawn.

Streamlit runs each session's script in its own thread. Sessions arriving together at a fresh
server import pandas, pyarrow and plotly (pulled in lazily by ``st.dataframe`` and
``st.plotly_chart``) at the same time, and Python can hand one of them a partially initialised
module (seen: "partially initialized module 'pandas'"). The first script run imports them here
under one lock; the others wait for it.
"""

from __future__ import annotations

import importlib
import threading

#: Modules the pages use lazily through Streamlit.
MODULES = ("numpy", "pandas", "pyarrow", "plotly.graph_objects", "plotly.io", "PIL.Image", "scipy.signal",
           "cubescope.plots", "cubescope.pca", "cubescope.smoothing", "cubescope.export")

_LOCK = threading.Lock()
_done = False


def import_page_modules() -> None:
    """Import :data:`MODULES` once per process; concurrent callers wait for the first."""
    global _done
    if _done:
        return
    with _LOCK:
        if not _done:
            for name in MODULES:
                importlib.import_module(name)
            _done = True
