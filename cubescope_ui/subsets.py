"""Cutting a subset: the zoom window or the region, all bands or those not marked bad (as the
session has the list: edited or the file's), stored as a cube of its own (its own id, share link
and exports) and opened."""

from __future__ import annotations

import streamlit as st

from cubescope import Cube, CubeError
from cubescope_ui import session
from cubescope_ui.data import STORED, base_id, store
from cubescope_ui.text import error

_ERROR = "subset_error"


def _open_subset(cube_id: str, cube: Cube, window: tuple[int, int, int, int], good_only: bool) -> None:
    r0, r1, c0, c1 = window
    try:
        new_id = store().subset(cube, base_id(cube_id), slice(r0, r1), slice(c0, c1),
                                cube.good_bands if good_only else None)
    except CubeError as exc:
        st.session_state[_ERROR] = str(exc)
        return
    except MemoryError:
        st.session_state[_ERROR] = "The subset is too large for this server's memory."
        return
    session.switch_cube(new_id)


def panel(cube_id: str, cube: Cube) -> None:
    """The choice of window and bands, and the button that opens them as a new cube."""
    if cube_id.endswith(STORED):
        return  # the stored values are a view of the same cube: cut from the cube itself
    with st.expander("Open part of this cube as a new cube"):
        windows = {"The whole image": (0, cube.rows, 0, cube.cols)}
        shown = session.window(cube)
        if not shown.is_whole(cube.rows, cube.cols):
            windows[f"The zoom window: rows {shown.row0}-{shown.row1}, columns {shown.col0}-{shown.col1}"] = (
                shown.row0, shown.row1, shown.col0, shown.col1)
        if session.region():
            r0, r1, c0, c1 = session.region()
            windows[f"The region: rows {r0}-{r1}, columns {c0}-{c1}"] = (r0, r1, c0, c1)
        where = st.radio("Pixels", list(windows), index=len(windows) - 1, key="subset_window")
        good = int(cube.good_bands.sum())
        good_only = good < cube.n_bands and st.toggle(
            f"Only the {good} bands not marked bad (of {cube.n_bands})", value=True, key="subset_good")
        r0, r1, c0, c1 = windows[where]
        st.caption(f"{r1 - r0} x {c1 - c0} pixels x {good if good_only else cube.n_bands} bands. The new cube "
                   "gets its own id and link, and names this cube as its source.")
        st.button("Open as a new cube", key="subset_open", on_click=_open_subset,
                  args=(cube_id, cube, windows[where], good_only),
                  disabled=(r1 - r0, c1 - c0) == (cube.rows, cube.cols) and not good_only)
        if st.session_state.get(_ERROR):
            error(st.session_state.pop(_ERROR))
