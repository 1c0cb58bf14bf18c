"""Choosing the cube: the sidebar's uploader and id box, and the upload panel at the top of a
page (errors, which array of a container, which axis holds the bands)."""

from __future__ import annotations

import os
from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cubescope import CubeError, SeveralCubes, sources, state
from cubescope.io.upload import Content
from cubescope.store import configured_root
from cubescope_ui import session, streamed_uploads
from cubescope_ui.data import DEMO_ID, open_cube, store
from cubescope_ui.text import error, plain

ACCEPTED = ("ENVI (.hdr with its data file, or both in one .zip), ERDAS .lan, .npy, .npz, .mat, .tif, .h5; "
            "sensor products: EMIT, PACE, AVIRIS-3 (.nc), PRISMA (.he5), Tanager, NEON (.h5), "
            "EnMAP and DESIS (the delivered .zip, or METADATA.XML with its images)")


def _uploaded_files(again: bool = False) -> list[tuple[str, Content]]:
    """The files to open: those added since the last upload (the uploader keeps earlier ones;
    a user adding a file means to open it), else all of them; ``again``: the last ones opened.

    Only file ids are remembered: the bytes stay where the upload put them (the file the server
    streamed them into, see ``serve.py``, or Streamlit's memory), never copied into the session;
    the store reads them in pieces.
    """
    files = st.session_state.get(_uploader_key()) or []
    if again:
        chosen = [f for f in files if f.file_id in st.session_state.get("upload_last", ())]
    else:
        seen = st.session_state.get("upload_seen", set())
        chosen = [f for f in files if f.file_id not in seen] or files
        st.session_state["upload_seen"] = seen | {f.file_id for f in files}
        st.session_state["upload_last"] = [f.file_id for f in chosen]
    return [(f.name, streamed_uploads.content(f)) for f in chosen]


def _uploader_key() -> str:
    """The uploader's key: a new one after every upload that was stored, so Streamlit drops the
    files the old widget held (uploads would otherwise stay in the server's memory for the
    session's life). The store has them from then on."""
    generation = st.session_state.get("upload_generation", 0)
    return "upload" if generation == 0 else f"upload_{generation}"


def _release_uploads() -> None:
    """Drop the stored upload's bytes from the server: Streamlit keeps uploads in memory until
    the session ends unless the widget's files are removed, as its own chat input does with the
    uploaded-file manager; the widget is then replaced by an empty one."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is not None:
        uploads = st.session_state.get(_uploader_key()) or []
        for uploaded in uploads:
            context.uploaded_file_mgr.remove_file(context.session_id, uploaded.file_id)
        streamed_uploads.discard(configured_root(), context.session_id, [u.file_id for u in uploads])
    st.session_state["upload_generation"] = st.session_state.get("upload_generation", 0) + 1
    for key in ("upload_seen", "upload_last"):
        st.session_state.pop(key, None)


def _ingest(dataset: str | None = None) -> None:
    """Put the uploaded files in the store and make them the session's cube."""
    st.session_state.pop("upload_error", None)
    st.session_state.pop("upload_choices", None)
    files = _uploaded_files(again=dataset is not None)
    if not files:
        return
    bar = st.progress(0.0, text="Converting the upload…")
    try:
        cube_id = store().put_files(files, dataset=dataset, waiting=_queue_place(bar),
                                    progress=lambda f: bar.progress(f, text=f"Converting the upload… {f:.0%}"))
    except SeveralCubes as exc:
        st.session_state["upload_choices"] = list(exc.choices)
        return
    except CubeError as exc:
        st.session_state["upload_error"] = str(exc)
        return
    except MemoryError:
        st.session_state["upload_error"] = "The file is too large for this server's memory."
        return
    finally:
        bar.empty()
    _release_uploads()
    session.switch_cube(cube_id)


def _queue_place(bar: DeltaGenerator) -> Callable[[int], None]:
    """Tells a waiting user their place while other files are converted (one conversion per core
    at a time, so that pages stay quick for everyone)."""
    def waiting(place: int) -> None:
        bar.progress(0.0, text=f"Other uploads are being converted; yours is number {place} in the queue…")
    return waiting


def _on_upload() -> None:
    _ingest()


def _on_dataset() -> None:
    _ingest(dataset=st.session_state["upload_dataset_choice"])


#: The band-axis choice offered for a cube whose format does not state it.
BAND_AXIS = session.cube_widget("band_axis_choice")


def _on_band_axis() -> None:
    """Lay the open cube out again with its bands on the chosen axis (from the store: the upload
    itself is gone)."""
    st.session_state.pop("upload_error", None)
    try:
        cube_id = store().relayout(session.cube_id(), st.session_state[BAND_AXIS])
    except CubeError as exc:
        st.session_state["upload_error"] = str(exc)
        return
    session.switch_cube(cube_id)


def cube_picker(max_upload_mb: int) -> None:
    """The sidebar's cube section. The cube id lives in the URL (``?cube=``)."""
    st.sidebar.header("Cube")
    st.sidebar.file_uploader(
        "Open a cube",
        accept_multiple_files=True,
        key=_uploader_key(),
        on_change=_on_upload,
        help=f"{ACCEPTED}. Up to {max_upload_mb} MB per file.",
    )
    st.sidebar.caption(f"{ACCEPTED}. Up to {max_upload_mb} MB per file.")
    st.sidebar.button("Open the demo cube", on_click=session.open_demo, key="open_demo", width="stretch")
    _server_sources()
    # One box per cube, not the session's cube itself as the widget: a rerun the browser asks
    # for just after an upload (a click, a component's report) still carries the box it shows,
    # with the previous cube's id, which Streamlit would take for the user typing it back.
    shown = session.cube_id()
    box = f"cube_box_{shown}"
    st.sidebar.text_input(
        "Cube id",
        value=shown,
        key=box,
        on_change=_on_cube_typed,
        args=(box,),
        help="Every cube has an id; links carry it. Paste one to open that cube.",
    )


def _on_cube_typed(box: str) -> None:
    if box != f"cube_box_{session.cube_id()}":
        return  # the box of a cube the session has left: a stale report, not typing
    session.switch_cube(state.normal_cube_id(st.session_state.get(box)) or DEMO_ID)


@st.cache_data(ttl=30, show_spinner=False)
def _folder_listing(root: str) -> list[str]:
    return sources.list_folder(root)


def _server_sources() -> None:
    """Cubes the server can open without an upload: its data folder and allowed URLs."""
    root = os.environ.get("CUBESCOPE_DATA_ROOT")
    prefixes = sources.allowed_prefixes()
    if not root and not prefixes:
        return
    with st.sidebar.expander("Open from the server", expanded=bool(st.session_state.get("source_error"))):
        if root:
            try:
                files = _folder_listing(root)
            except OSError:
                files = []
                st.warning("The server's data folder cannot be read; ask its administrator.")
            choice = st.selectbox("Data folder", files, index=None, key="server_file",
                                  placeholder="choose a file" if files else "no cube files")
            if st.button("Open file", key="open_server_file", disabled=choice is None, width="stretch"):
                _open_source(lambda progress, waiting: _put_folder_file(root, choice, progress, waiting),
                             f"'{choice}'")
        if prefixes:
            url = st.text_input("Object URL", key="server_url", placeholder=prefixes[0] + "…",
                                help="Opens URLs under " + ", ".join(prefixes) + " with the server's credentials.")
            if st.button("Open URL", key="open_url", disabled=not url, width="stretch"):
                _open_source(lambda progress, waiting: store().put_url(sources.check_url(url, prefixes),
                                                                      progress=progress, waiting=waiting),
                             "The URL")
        if st.session_state.get("source_error"):
            error(st.session_state["source_error"])


def _put_folder_file(root: str, relative: str, progress, waiting) -> str:
    path = sources.resolve_in_folder(root, relative)
    return store().put_path(path, sources.folder_source_id(path), source={"data folder": relative},
                            progress=progress, waiting=waiting)


def _open_source(put, label: str) -> None:
    """Convert a server-side cube into the store (with a progress bar) and open it."""
    st.session_state.pop("source_error", None)
    bar = st.progress(0.0, text="Reading…")
    try:
        cube_id = put(lambda f: bar.progress(min(f, 1.0), text=f"Reading and converting… {f:.0%}"),
                      _queue_place(bar))
    except CubeError as exc:
        st.session_state["source_error"] = f"{label} could not be opened. {exc}"
        st.rerun()
    session.switch_cube(cube_id)
    st.rerun()


def upload_panel() -> None:
    """What the last upload needs from the user: its error, or a choice of array or band axis."""
    if st.session_state.get("upload_error"):
        error(f"The upload could not be opened. {st.session_state['upload_error']}")
    if st.session_state.get("upload_choices"):
        st.selectbox(
            "The upload holds several cubes: choose one",
            st.session_state["upload_choices"],
            index=None,
            key="upload_dataset_choice",
            on_change=_on_dataset,
        )
    guess = _band_axis_guess()
    if guess:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        left.caption(plain(f"Band axis: {guess}. If the images look wrong, the bands are on another axis."))
        right.selectbox("Bands are on axis", [0, 1, 2], index=None, key=BAND_AXIS,
                        on_change=_on_band_axis, placeholder="keep the guess")


def _band_axis_guess() -> str | None:
    """How the open cube's band axis was chosen, for formats that do not state it."""
    try:
        return open_cube(session.cube_id()).metadata.get("band axis")
    except CubeError:
        return None
