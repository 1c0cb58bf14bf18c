"""Continuum removal: the pins' spectra over their convex hull, and a band-depth image of a feature."""

import numpy as np
import streamlit as st

from cubescope import Cube, export, state
from cubescope.continuum import BandDepthImage, band_depth, continuum_removed, undefined_continuum
from cubescope.plots import Trace
from cubescope.words import number_text, plural
from cubescope_ui import exporting, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain


def default_feature(context: state.LinkContext) -> tuple[float, float] | None:
    """The Al-OH clay feature at 2200 nm (2120-2250 nm) when the cube covers it, else the
    middle third of its range."""
    if context.wavelength_range is None:
        return None
    low, high = context.wavelength_range
    if low <= 2120 and high >= 2250:
        return 2120.0, 2250.0
    third = (high - low) / 3
    return round(low + third, 1), round(high - third, 1)


def _feature(text: str, context: state.LinkContext) -> tuple[float, float]:
    try:
        low, high = state.number_pair(text, context)
    except ValueError:
        raise ValueError("not two wavelengths (expected left-right in nm, e.g. 2120-2250)") from None
    if context.wavelength_range is None:
        raise ValueError("this cube has no wavelengths in nm")
    first, last = context.wavelength_range
    if not first <= low < high <= last:
        raise ValueError(f"not within {first:g}-{last:g} nm with left < right")
    return low, high


SETTINGS = {
    "cr_feature": state.Setting("absorption feature", _feature, default_feature, encode=state.pair_text,
                                show=lambda v, c: f"{v[0]:g}-{v[1]:g} nm"),
    **state.stretch_settings("cr_"),
}


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    if context.wavelength_range is None or int(cube.good_bands.sum()) < 3:
        st.info(plain("Continuum removal needs wavelengths in a length unit and at least three usable bands; "
                      f"'{cube.name}' has {'no wavelengths' if cube.wavelengths_nm is None else 'too few bands'}."))
        return
    first, last = context.wavelength_range
    feature = widgets.kept(st.slider, "cr_feature", context, "Absorption feature: its two shoulders (nm)",
                           min_value=float(np.floor(first)), max_value=float(np.ceil(last)),
                           value=default_feature(context), step=1.0,
                           allowed=lambda v: isinstance(v, tuple | list) and first <= v[0] < v[1] <= last)
    feature = (float(feature[0]), float(feature[1]))
    wavelengths = cube.wavelengths_nm
    inside = int(np.count_nonzero((wavelengths >= feature[0]) & (wavelengths <= feature[1]) & cube.good_bands))
    if inside < 3:
        st.warning(plain(f"{inside} usable bands lie between {feature[0]:g} and {feature[1]:g} nm; widen the feature "
                         "to hold at least three."))
        return
    image_col, side_col = two_columns("continuum")
    with image_col:
        label = f"band depth {feature[0]:g}-{feature[1]:g} nm"
        show_image("image_cr", cube_id, cube, context, BandDepthImage(*feature), prefix="cr_", label=label,
                   export=Export((cube.name, label), "export_cr", export.image_metadata(cube, product=label)))
        st.caption("Depth = 1 − R / continuum, the continuum being the straight line between the two shoulders "
                   "(Clark & Roush 1984); the deepest point between them.")
    with side_col:
        pinned(cube, feature)


def pinned(cube: Cube, feature: tuple[float, float]) -> None:
    """The pins' spectra, raw and divided by their hull, the feature marked."""
    pins = session.pins_in(cube)
    if not pins:
        st.info("Click the image to pin a pixel: its raw and continuum-removed spectra show here.")
        return
    spectra = np.array([cube.spectrum(r, c) for r, c in pins], dtype=np.float64)
    removed = continuum_removed(spectra, cube.wavelengths_nm, cube.bad_bands)
    undefined = int(undefined_continuum(spectra, removed, cube.bad_bands).sum())
    if undefined:
        st.warning(f"The continuum of {plural(undefined, 'pinned pixel')} (of {len(pins)}) is zero or negative at some "
                   "bands (a zero or negative value on its hull): those samples have nothing to divide by and are "
                   "left out.")
    depths = band_depth(spectra, cube.wavelengths_nm, feature=feature, bad_bands=cube.bad_bands)
    names = [f"({r}, {c})" for r, c in pins]
    marks = [(int(np.nanargmin(np.abs(cube.wavelengths_nm - w))), "#888888") for w in feature]
    spectra_chart("cr_removed", [Trace(n, s, marker=k) for k, (n, s) in enumerate(zip(names, removed, strict=True))],
                  cube.wavelengths, cube.wavelength_units, cube.bad_bands, y_title="continuum removed", marks=marks,
                  name_parts=(cube.name, "continuum removed"))
    spectra_chart("cr_raw", [Trace(n, s, dash="dot", marker=k) for k, (n, s) in enumerate(zip(names, spectra,
                                                                                                strict=True))],
                  cube.wavelengths, cube.wavelength_units, cube.bad_bands, y_title=cube.quantity or "value",
                  marks=marks, name_parts=(cube.name, "spectra"))
    st.dataframe([{"pixel": n, "band depth": number_text(d)} for n, d in zip(names, depths, strict=True)],
                 hide_index=True, width="stretch")
    exporting.spectra_panel({f"{n} continuum removed": s for n, s in zip(names, removed, strict=True)},
                            cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                            (cube.name, "continuum removed"), key="export_cr_spectra")
    widgets.pin_controls(cube)


page("The Continuum page", lambda cube: f"Continuum removal · {cube.name}", body)
