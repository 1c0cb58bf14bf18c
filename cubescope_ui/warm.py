"""Importing what the pages need once, before a first page is drawn.

Streamlit runs each session's script in its own thread. Sessions arriving together at a fresh
server import pandas, pyarrow and plotly (pulled in lazily by ``st.dataframe`` and
``st.plotly_chart``) at the same time, and Python can hand one of them a partially initialised
module (seen: "partially initialized module 'pandas'"). The first script run imports them here
under one lock; the others wait for it.

Streamlit runs a full garbage collection after every script run (``runner.postScriptGC``), and a
full collection walks every object the imported modules hold: about 100 ms of CPU on each band
move or click, at 200,000 objects. Those objects live as long as the process, so once imported
they are moved out of the collector's walks (``gc.freeze``); what sessions create afterwards is
still collected.

In a server, the first run also starts the conversions' forkserver
(:func:`cubescope.io.isolated.start_forkserver`), whose imports of the file readers take about a
second of CPU: then, not during someone's first upload.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
import threading

import streamlit as st

from cubescope.io import isolated

#: Modules the pages use lazily through Streamlit.
MODULES = ("numpy", "pandas", "pyarrow", "plotly.graph_objects", "plotly.io", "PIL.Image", "scipy.signal",
           "cubescope.plots", "cubescope.pca", "cubescope.smoothing", "cubescope.export")

_LOCK = threading.Lock()
_done = False


def import_page_modules() -> None:
    """Import :data:`MODULES` and the app's own modules once per process, then freeze what they
    hold out of the garbage collector's walks; concurrent callers wait for the first."""
    global _done
    if _done:
        return
    with _LOCK:
        if not _done:
            import cubescope_ui

            for name in MODULES:
                importlib.import_module(name)
            for module in pkgutil.walk_packages(cubescope_ui.__path__, "cubescope_ui."):
                importlib.import_module(module.name)
            gc.collect()
            gc.freeze()
            # The conversions' process server imports the file readers (a second of CPU in a
            # process of its own): now, not when someone's first upload waits for it. Only in a
            # server: a process spawned by another program (a dask worker) may run this script
            # as its main module while it starts, when it must not start processes.
            if st.runtime.exists():
                isolated.start_forkserver()
            _done = True
