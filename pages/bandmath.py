"""Band math: an index or any expression over bands, drawn as an image you can pin and export."""

import streamlit as st

from cubescope import INDICES, Cube, CubeError, export, indices, state
from cubescope.plots import Trace
from cubescope.words import number_text
from cubescope_ui import data, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain

SETTINGS = {
    "bm_expr": state.Setting("band-math expression", indices.link_expression, indices.link_default_expression),
    **state.stretch_settings("bm_"),
}


def _use_index() -> None:
    """The named-index picker writes its expression into the box."""
    name = st.session_state.get("bm_pick")
    if name:
        st.session_state["bm_expr"] = name
        session.remember("bm_expr", name)


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    expression = widgets.kept(left.text_input, "bm_expr", context, "Expression", value=indices.default_expression(cube),
                              max_chars=indices.MAX_EXPRESSION,
                              help="Bands by wavelength (R860: the band nearest 860 nm) or index (b12); + - * / **, "
                                   "parentheses, numbers, abs sqrt log exp min max clip. Or a named index.")
    right.selectbox("Named index", list(INDICES), index=None, key="bm_pick", placeholder="choose…",
                    on_change=_use_index)
    try:
        parsed = indices.parse(cube, expression)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    named = next((n for n in INDICES if n.lower() == expression.strip().lower()), None)
    reads = ", ".join(f"{name} = {context.band_label(band)}" for name, band in sorted(parsed.names.items()))
    st.caption(plain((f"{named} = {parsed.text} ({indices.INDEX_SOURCES[named]}). " if named else "")
                     + (f"Reads {reads}." if reads else "Reads no band.")
                     + " A bad band or no-data gives no value (NaN), never a wrong one."))
    product = indices.BandMathImage(parsed.text)
    try:
        data.value_range(cube_id, product)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    image_col, side_col = two_columns("bandmath")
    with image_col:
        label = named or parsed.text
        show_image("image_bm", cube_id, cube, context, product, prefix="bm_", label=label,
                   export=Export((cube.name, label), "export_bm", export.image_metadata(
                       cube, product=f"band math {parsed.text}", expression=parsed.text)))
    with side_col:
        pinned(cube_id, cube, product)


def pinned(cube_id: str, cube: Cube, product: indices.BandMathImage) -> None:
    """The pins' values of the expression and their spectra."""
    pins = session.pins_in(cube)
    if not pins:
        st.info("Click the image to pin a pixel: its value and spectrum show here and on the other pages.")
        return
    image = data.derived_image(cube_id, product)
    st.dataframe([{"pixel": f"({r}, {c})", "value": number_text(image[r, c])} for r, c in pins],
                 hide_index=True, width="stretch")
    traces = [Trace(f"({r}, {c})", cube.spectrum(r, c), marker=k) for k, (r, c) in enumerate(pins)]
    spectra_chart("bm_spectra", traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=cube.quantity or "value", name_parts=(cube.name, "spectra"))
    widgets.pin_controls(cube)


page("The Band math page", lambda cube: f"Band math · {cube.name}", body)
