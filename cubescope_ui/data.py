"""Cubes and derived products, cached by cube id and parameters (never by hashing arrays).

Cubes are shared by every session of the server (``st.cache_resource``, read-only memory
maps); small derived results (display images, region statistics) are cached per parameters
with ``st.cache_data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, display, pca, smoothing, spectra, state
from cubescope.demo import demo_cube
from cubescope.io.limits import Limits
from cubescope.store import CubeStore

DEMO_ID = "demo"


@st.cache_resource(show_spinner=False)
def store() -> CubeStore:
    """The server's cube store (``CUBESCOPE_STORE``, default ``~/.cache/cubescope/store``),
    shared with other servers through ``CUBESCOPE_SHARED_STORE`` when that is set."""
    root = os.environ.get("CUBESCOPE_STORE") or Path.home() / ".cache" / "cubescope" / "store"
    max_bytes = int(float(os.environ.get("CUBESCOPE_STORE_MAX_BYTES", 20e9)))
    return CubeStore(root, max_bytes=max_bytes, limits=Limits.from_env(),
                     shared=os.environ.get("CUBESCOPE_SHARED_STORE") or None)


#: Suffix of a view key that shows a scaled cube's samples as stored (see :func:`open_cube`).
STORED = ":stored"


@st.cache_resource(max_entries=32, show_spinner="Opening the cube…")
def open_cube(cube_id: str) -> Cube:
    """The cube behind an id; ``"demo"`` is the generated demo scene. An id ending in
    :data:`STORED` gives the cube's samples as stored, without the file's scaling."""
    if cube_id.endswith(STORED):
        return open_cube(cube_id.removesuffix(STORED)).as_stored()
    if cube_id == DEMO_ID:
        return demo_cube()
    return store().open(cube_id)


def current_cube() -> tuple[str, Cube] | None:
    """The session's cube, or None after showing why it cannot be opened.

    Called at the top of every page; shows what a pending upload needs first.
    """
    from cubescope_ui.navigation import require_navigation
    from cubescope_ui.picker import upload_panel

    require_navigation()
    upload_panel()
    cube_id = st.session_state.get("cube") or DEMO_ID
    try:
        if not state.valid_cube_id(cube_id):
            raise CubeError("That cube id is not valid (it must be 32 hexadecimal digits, or 'demo').")
        cube = open_cube(cube_id)
        if cube.damaged:
            # A band failed its check in some session: the entry is gone; open it afresh (from the
            # shared store if there is one) instead of keeping the cached, unusable cube.
            open_cube.clear()
            cube = open_cube(cube_id)
    except CubeError as exc:
        from cubescope_ui.text import error

        error(exc)
        st.button("Open the demo cube", on_click=_open_demo, key="fallback_demo")
        return None
    from cubescope_ui.urlstate import share_link, sync_view
    from cubescope_ui.widgets import IMAGE_KEYS, take_clicks

    take_clicks(display.display_grid(cube.rows, cube.cols), *IMAGE_KEYS)
    sync_view(cube)
    if cube.is_scaled:
        st.sidebar.toggle("Show stored values", key="stored", bind="query-params",
                          help=f"Values are {cube.scaling_note()}. On: the numbers as the file stores them.")
        if st.session_state.get("stored"):
            cube_id, cube = cube_id + STORED, open_cube(cube_id + STORED)
    st.sidebar.caption("Share link: reopens this cube, page, pixels and settings (copy with the icon)")
    st.sidebar.code(share_link(), language=None, wrap_lines=True)
    return cube_id, cube


def _open_demo() -> None:
    st.session_state["cube"] = DEMO_ID


@st.cache_data(max_entries=512, show_spinner=False)
def band_range(cube_id: str, band: int) -> tuple[float, float]:
    """The finite extremes of one band (where a user's stretch range starts)."""
    return display.stretch_limits(open_cube(cube_id).band(band), "min-max")


@st.cache_data(max_entries=512, show_spinner=False)
def band_view(cube_id: str, band: int, method: str, low: float, high: float,
              vmin: float | None, vmax: float | None) -> display.BandView:
    return display.band_view(open_cube(cube_id).band(band), method, low, high, vmin, vmax)


@st.cache_data(max_entries=128, show_spinner=False)
def rgb_view(cube_id: str, bands: tuple[int, int, int], method: str, low: float,
             high: float) -> tuple[np.ndarray, display.DisplayGrid]:
    cube = open_cube(cube_id)
    r, g, b = (cube.band(i) for i in bands)
    return display.rgb_view((r, g, b), method, low, high)


@st.cache_data(max_entries=128, show_spinner=False)
def region_stats(cube_id: str, box: tuple[int, int, int, int]) -> spectra.RegionStats:
    r0, r1, c0, c1 = box
    return spectra.region_stats(open_cube(cube_id), slice(r0, r1), slice(c0, c1))


@st.cache_data(max_entries=256, show_spinner=False)
def savgol_view(cube_id: str, band: int, window: int, degree: int, deriv: int, delta: float, exact: bool,
                method: str, low: float, high: float, vmin: float | None, vmax: float | None) -> display.BandView:
    image = smoothing.savgol_band(open_cube(cube_id), band, window, degree, deriv, delta, use_wavelengths=exact)
    return display.band_view(image, method, low, high, vmin, vmax)


def _region_mask(cube: Cube, region: tuple[int, int, int, int] | None) -> np.ndarray | None:
    if region is None:
        return None
    mask = np.zeros((cube.rows, cube.cols), bool)
    r0, r1, c0, c1 = region
    mask[r0:r1, c0:c1] = True
    return mask


@st.cache_data(max_entries=64, show_spinner="Fitting the PCA…")
def pca_fit(cube_id: str, k: int, region: tuple[int, int, int, int] | None) -> pca.PCAResult:
    cube = open_cube(cube_id)
    return pca.fit_pca(cube, k, mask=_region_mask(cube, region))


@st.cache_resource(max_entries=8, show_spinner="Computing the PC images…")
def pca_scores(cube_id: str, k: int, region: tuple[int, int, int, int] | None) -> np.ndarray:
    """PC images ``(rows, cols, k)``; shared by sessions, read-only."""
    scores = pca_fit(cube_id, k, region).transform(open_cube(cube_id))
    scores.flags.writeable = False
    return scores


@st.cache_data(max_entries=64, show_spinner=False)
def pca_view(cube_id: str, k: int, region: tuple[int, int, int, int] | None, component: int,
             method: str, low: float, high: float, vmin: float | None, vmax: float | None) -> display.BandView:
    return display.band_view(pca_scores(cube_id, k, region)[:, :, component], method, low, high, vmin, vmax)


@st.cache_data(max_entries=32, show_spinner=False)
def pca_rgb(cube_id: str, k: int, region: tuple[int, int, int, int] | None, components: tuple[int, int, int],
            method: str, low: float, high: float) -> tuple[np.ndarray, display.DisplayGrid]:
    scores = pca_scores(cube_id, k, region)
    r, g, b = (scores[:, :, i] for i in components)
    return display.rgb_view((r, g, b), method, low, high)


@st.cache_data(max_entries=32, show_spinner="Computing the reconstruction error…")
def pca_error_view(cube_id: str, k: int, region: tuple[int, int, int, int] | None, method: str, low: float,
                   high: float, vmin: float | None, vmax: float | None) -> display.BandView:
    error = pca_fit(cube_id, k, region).reconstruction_error(open_cube(cube_id))
    return display.band_view(error, method, low, high, vmin, vmax)


@st.cache_data(max_entries=32, show_spinner=False)
def pca_on_whole_cube(cube_id: str, k: int, region: tuple[int, int, int, int]) -> np.ndarray:
    return pca_fit(cube_id, k, region).explained_variance_on(open_cube(cube_id))
