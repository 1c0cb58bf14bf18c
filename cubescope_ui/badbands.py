"""Editing the bad-band list: ranges typed as text, or bands marked on the spectra chart. The
edited list is the session's setting ``bad`` (runs of band numbers, in the link); the frame opens
the cube with it (:func:`cubescope_ui.data.view_id`), so every page, analysis and export of the
session leaves those bands out. None keeps the file's list."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from cubescope import Cube, state
from cubescope.badbands import decode_runs, encode_runs, parse_ranges, ranges_text
from cubescope_ui import data, session
from cubescope_ui.text import error, plain

ON_CHART = session.cube_widget("bad_on_chart")
_ERROR = "bad_error"


def parse_setting(text: str, context: state.LinkContext) -> str:
    """The link's ``bad`` value: runs of band numbers of this cube, at least one band left good."""
    mask = decode_runs(text, context.n_bands)
    if mask.all():
        raise ValueError("it marks every band bad")
    return encode_runs(mask)


def show_setting(value: str, context: state.LinkContext) -> str:
    cube = context.cube
    return ranges_text(decode_runs(value, cube.n_bands), cube.wavelengths, cube.wavelength_units) or "none"


def _file_list(cube_id: str) -> np.ndarray:
    cube = data.open_cube(data.base_id(cube_id))
    return np.zeros(cube.n_bands, bool) if cube.bad_bands is None else cube.bad_bands.copy()


def _marked(cube_id: str) -> np.ndarray:
    """The list as the session has it now (callbacks read it here, not from a run's arguments:
    two quick strokes on the chart must both count)."""
    edited = session.settings().get("bad")
    file_list = _file_list(cube_id)
    return file_list if edited is None else decode_runs(edited, file_list.size)


def _keep(cube_id: str, mask: np.ndarray) -> None:
    if mask.all():
        st.session_state[_ERROR] = "At least one band must stay good: that would mark every band bad."
        return
    if np.array_equal(mask, _file_list(cube_id)):
        session.forget("bad")
    else:
        session.remember("bad", encode_runs(mask))


def _on_text(cube_id: str, key: str, cube: Cube) -> None:
    try:
        mask = parse_ranges(st.session_state.get(key) or "", cube.n_bands, cube.wavelengths, cube.wavelength_units)
    except ValueError as exc:
        st.session_state[_ERROR] = f"The bad-band list cannot be read: {exc}."
        return
    _keep(cube_id, mask)


def chart_marker(cube_id: str) -> Callable[[list[int], bool], None] | None:
    """What the spectra chart calls when bands are marked on it, while marking is on; else None."""
    if not st.session_state.get(ON_CHART):
        return None

    def mark(bands: list[int], bad: bool) -> None:
        mask = _marked(cube_id)
        mask[bands] = bad
        _keep(cube_id, mask)

    return mark


def panel(cube_id: str, cube: Cube) -> None:
    """The list as ranges, the switch that makes the chart mark bands, and the file's list back."""
    mask = ~cube.good_bands
    edited = session.settings().get("bad") is not None
    text = ranges_text(mask, cube.wavelengths, cube.wavelength_units)
    title = f"Bad bands: {int(mask.sum())} of {cube.n_bands}" + (" (edited)" if edited else "")
    with st.expander(title):
        key = f"bad_ranges_{encode_runs(mask)}"
        st.text_input("Bad bands", value=text, key=key, on_change=_on_text, args=(cube_id, key, cube),
                      placeholder="e.g. 1340-1445, 1790-1955 nm or b0-b4",
                      help="Wavelength ranges (a unit after the last one holds for all), single wavelengths "
                           "(the nearest band), or band numbers such as b12-b20. Every page leaves these bands "
                           "out; the link and the exports carry them.")
        st.toggle("Mark on the chart", key=ON_CHART,
                  help="Click a band on the spectra chart to mark or unmark it, drag across bands to mark "
                       "(or unmark) them all; from the keyboard, the arrow keys move along the bands and Enter "
                       "marks or unmarks the one read.")
        if edited:
            original = ranges_text(_file_list(cube_id), cube.wavelengths, cube.wavelength_units) or "none"
            st.caption(plain(f"The file's list: {original}."))
            st.button("Use the file's list", key="bad_restore", on_click=session.forget, args=("bad",))
        if st.session_state.get(_ERROR):
            error(st.session_state.pop(_ERROR))
