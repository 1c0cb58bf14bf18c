"""The frame around every page: page settings, the sidebar's cube picker, the open cube, the
share link. The top of the glue: pages import it; it imports the rest.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from cubescope import Cube, CubeError, state
from cubescope_ui import badbands, data, session, widgets
from cubescope_ui.guard import page_guard
from cubescope_ui.layout import page_style
from cubescope_ui.picker import cube_picker, upload_panel
from cubescope_ui.text import error, plain
from cubescope_ui.warm import import_page_modules
from cubescope_ui.widgets import kept

_ASSETS = Path(__file__).parent / "assets"
_LINK = st.components.v2.component(
    "cubescope_link", js=(_ASSETS / "link.js").read_text(), css=(_ASSETS / "link.css").read_text(),
)


#: The app's pages: script, title in the page list, icon, and address (the first page is at "/").
#: The addresses are the scripts' names, so that a link made while Streamlit reads ``pages/`` on
#: its own (see :func:`require_navigation`) names the same pages.
PAGES = (
    ("pages/bands.py", "Bands", ":material/layers:", "bands"),
    ("pages/smoothing.py", "Smoothing", ":material/show_chart:", "smoothing"),
    ("pages/pca.py", "PCA", ":material/scatter_plot:", "pca"),
    ("pages/bandmath.py", "Band math", ":material/calculate:", "bandmath"),
    ("pages/continuum.py", "Continuum", ":material/area_chart:", "continuum"),
    ("pages/library.py", "Library", ":material/library_books:", "library"),
    ("pages/unmixing.py", "Classes", ":material/category:", "unmixing"),
    ("pages/compress.py", "Compression", ":material/compress:", "compress"),
    ("pages/scatter.py", "Scatter", ":material/grain:", "scatter"),
    ("pages/detect.py", "Detection", ":material/crisis_alert:", "detect"),
    ("pages/classify.py", "Classification", ":material/label:", "classify"),
    ("pages/map.py", "Map", ":material/public:", "map"),
)


#: The frame's own settings: a scaled cube's samples as stored (the sidebar's toggle), and the
#: bad-band list as edited (None: the file's; see :mod:`cubescope_ui.badbands`).
SETTINGS = {
    "stored": state.Setting("show stored values", state.flag, lambda c: False, encode=state.flag_text),
    "bad": state.Setting("bad-band list", badbands.parse_setting, lambda c: None, show=badbands.show_setting,
                         per_cube=True, unset="the file's list"),
}

_DECLARING = threading.local()
_DECLARED_LOCK = threading.Lock()
_declared: dict[str, state.Setting] | None = None


def link_settings() -> state.Settings:
    """Every setting a link can carry: the frame's, the shared widgets' and each page's
    ``SETTINGS`` (declared beside its widgets). The page scripts are imported once per process
    to read them; their closing :func:`page` call draws nothing then."""
    global _declared
    with _DECLARED_LOCK:
        if _declared is None:
            groups = [SETTINGS, widgets.SETTINGS]
            _DECLARING.active = True
            try:
                for path, *_ in PAGES:
                    spec = importlib.util.spec_from_file_location(f"cubescope_pages.{Path(path).stem}",
                                                                  Path(__file__).parents[1] / path)
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    groups.append(getattr(module, "SETTINGS", {}))
            finally:
                _DECLARING.active = False
            _declared = state.joined(*groups)
    return _declared


def navigation() -> st.Page:
    """The page this run shows, from the navigation over :data:`PAGES` (whose list is drawn by
    :func:`page_links`).

    Streamlit's own list is off (``client.showSidebarNavigation``): it showed the raw file
    names of ``pages/`` until the first run after a server restart ended.
    """
    pages = [st.Page(path, title=title, icon=icon, url_path=address, default=k == 0)
             for k, (path, title, icon, address) in enumerate(PAGES)]
    return st.navigation(pages, position="hidden")


def page_links() -> None:
    """The page list at the top of the sidebar."""
    with st.sidebar.container(key="page_links"):
        for path, title, icon, _ in PAGES:
            st.page_link(path, label=title, icon=icon)


def frame() -> None:
    """What surrounds every page: page settings and the sidebar's cube picker."""
    st.set_page_config(page_title="Cubescope", page_icon=":material/satellite_alt:", layout="wide")
    page_style()
    cube_picker(max_upload_mb=st.get_option("server.maxUploadSize"))


_RUN = threading.local()


@contextmanager
def app_run() -> Iterator[None]:
    """Marks a run that went through ``app.py`` (the frame is drawn there), for
    :func:`require_navigation`. Runs of one session share a thread, one at a time."""
    _RUN.through_app = True
    try:
        yield
    finally:
        _RUN.through_app = False


def require_navigation() -> None:
    """Draw the frame if this page script was started in legacy multipage mode.

    Streamlit decides once per process whether a ``pages/`` folder next to the entry point
    means the legacy multipage mode: until some session has called ``st.navigation``, it does.
    So when the first request a new server gets is a link to a page (``/smoothing?...``), that
    page's script runs on its own, without ``app.py``. Drawing the frame here gives the user the
    same page; marking the app as an ``st.navigation`` app makes every later run normal. Whether
    this run is such a run is asked of the run itself, not of the flag: sessions arriving
    together at a fresh server all start in legacy mode while the first of them flips it.
    (Streamlit's AppTest starts every run this way, so its tests see the same page too.)
    Such a run has not passed through ``app.py``'s imports either: sessions arriving together
    at a fresh server must still not import pandas side by side (plotly then takes a partially
    initialised module: "partially initialized module 'pandas' has no attribute 'Series'").
    """
    from streamlit.runtime.pages_manager import PagesManager

    import_page_modules()

    if not getattr(_RUN, "through_app", False):
        PagesManager.uses_pages_directory = False
        page_links()
        frame()


def current_cube() -> tuple[str, Cube, state.LinkContext] | None:
    """The session's cube, its id (the view's: with the stored-values suffix when that is on)
    and what its link values are checked against; or None after showing why it cannot be opened.

    Called at the top of every page; shows what a pending upload needs first, and what a link
    asked for that cannot be used.
    """
    require_navigation()
    upload_panel()
    cube_id = session.cube_id()
    try:
        if not state.valid_cube_id(cube_id):
            raise CubeError("That cube id is not valid (it must be 32 hexadecimal digits, or 'demo').")
        cube = data.open_cube(cube_id)
        if cube.damaged:
            # A band failed its check in some session: the entry is gone; open it afresh (from the
            # shared store if there is one) instead of keeping the cached, unusable cube.
            data.open_cube.clear()
            cube = data.open_cube(cube_id)
    except CubeError as exc:
        error(exc)
        st.button("Open the demo cube", on_click=session.open_demo, key="fallback_demo")
        return None
    session.declare(link_settings())
    session.adopt_link(cube)
    if session.settings().get("bad") is not None:
        cube_id = data.view_id(cube_id, session.settings()["bad"])
        cube = data.open_cube(cube_id)
    context = session.link_context(cube)
    session.show_link_problems()
    if cube.is_scaled:
        kept(st.sidebar.toggle, "stored", context, "Show stored values", value=False,
             help=f"Values are {cube.scaling_note()}. On: the numbers as the file stores them.")
        if st.session_state.get("stored"):
            cube_id, cube = cube_id + data.STORED, data.open_cube(cube_id + data.STORED)
    return cube_id, cube, context


def page(what: str, title: Callable[[Cube], str], body: Callable[[str, Cube, state.LinkContext], None],
         fragment: bool = True) -> None:
    """A page: the open cube, its title, and ``body(cube_id, cube, context)`` in a fragment, so
    that a setting, a band move or a click reruns only the body. ``what`` names the page in
    messages. ``fragment=False``: the body lays out fragments of its own, and draws the share
    link in each. Nothing is drawn while :func:`link_settings` reads the page's settings."""
    if getattr(_DECLARING, "active", False):
        return
    with page_guard(what):
        opened = current_cube()
        if opened is None:
            st.stop()
        cube_id, cube, context = opened
        st.subheader(plain(title(cube)))
        if fragment:
            _body(what, body, cube_id, cube, context)
        else:
            body(cube_id, cube, context)


def rerun_if_switched(cube_id: str) -> None:
    """Rerun the whole page when a fragment runs with a cube the session no longer shows: a
    fragment rerun queued just before another cube was opened (or the bad-band list edited)
    keeps the earlier run's cube, and would draw it (and its share link) under the new
    cube's title."""
    if cube_id.removesuffix(data.STORED) != data.view_id(session.cube_id(), session.settings().get("bad")):
        st.rerun()


@st.fragment
def _body(what: str, body: Callable[[str, Cube, state.LinkContext], None], cube_id: str, cube: Cube,
          context: state.LinkContext) -> None:
    rerun_if_switched(cube_id)
    with page_guard(what):
        body(cube_id, cube, context)
        share_link(cube)


def share_link(cube: Cube) -> None:
    """The sidebar's share link, kept in the address bar too. Called last on every page (and
    from within a page's fragment, so that a fragment's run updates it as well)."""
    with st.sidebar:
        st.caption("Share link: reopens this cube, page, pixels and settings")
        _LINK(key="share_link", data={"query": session.link_query(cube)})

