"""Endmembers for unmixing (and targets for a detector), chosen by the user: the spectra marked on
the cube, endmembers found in the image, k-means class means, or the loaded library."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, state
from cubescope.library import SpectralLibrary
from cubescope.unmixing import atgp
from cubescope_ui import data, session, widgets
from cubescope_ui.marks import marked_spectra
from cubescope_ui.text import plain

#: Where endmembers come from.
SOURCES = ("Pins, region and ROIs", "ATGP (from the image)", "k-means class means", "Library")


def choose_endmembers(cube_id: str, cube: Cube, context: state.LinkContext, source_key: str, count_key: str,
                      kmeans_keys: tuple[str, str]) -> SpectralLibrary | None:
    """A choice among :data:`SOURCES` (setting ``source_key``) and the endmembers it gives, at
    most ten, on the cube's bands; None (after saying why) when there are not two. ATGP finds
    as many as setting ``count_key`` says; the k-means classes are those of the settings
    ``kmeans_keys`` (number of classes, seed)."""
    source = widgets.kept(st.radio, source_key, context, "Endmembers from", options=list(SOURCES),
                          index=1, horizontal=True)
    if source == SOURCES[0]:
        marked = marked_spectra(cube_id, cube)[:10]
        if len(marked) < 2:
            st.info("Pin at least two pixels (or select a region, or draw ROIs) to use them as endmembers.")
            return None
        return SpectralLibrary([m.name for m in marked], np.array([m.values for m in marked]), np.arange(cube.n_bands),
                               None, {"source": "pins, ROIs and region"})
    if source == SOURCES[1]:
        n = widgets.kept(st.slider, count_key, context, "Endmembers to find", min_value=2, max_value=10, value=4)
        pixels, spectra = data.computed(cube_id, "Finding endmembers (ATGP)…", atgp, n)
        st.caption(plain("ATGP (Ren & Chang 2003): the brightest pixel, then each time the pixel farthest from the "
                         "span of those found: " + ", ".join(f"({r}, {c})" for r, c in pixels) + "."))
        return SpectralLibrary([f"ATGP {k + 1} ({r}, {c})" for k, (r, c) in enumerate(pixels)], spectra,
                               np.arange(cube.n_bands), None, {"source": "ATGP"})
    if source == SOURCES[2]:
        n, seed = (int(session.setting(key, context)) for key in kmeans_keys)
        try:
            result = data.kmeans_classes(cube_id, n, seed)
        except CubeError as exc:
            st.warning(plain(exc))
            return None
        st.caption(plain(f"The mean spectra of the {n} k-means classes (seed {seed}; set on the k-means view)."))
        return SpectralLibrary([f"class {i}" for i in range(n)], np.nan_to_num(result.centers),
                               np.arange(cube.n_bands), None, {"source": "k-means classes"})
    library, _ = session.library()
    if library is None or cube.wavelengths_nm is None:
        st.info("Load a library on the Library page first (this cube needs wavelengths to use one).")
        return None
    resampled = library.resampled(cube.wavelengths_nm, cube.fwhm_nm)
    if len(resampled.names) > 10:
        st.info(plain(f"The library holds {len(resampled.names)} spectra; the first 10 are used as endmembers."))
    return SpectralLibrary(resampled.names[:10], resampled.spectra[:10], np.arange(cube.n_bands), None,
                           dict(resampled.metadata))
