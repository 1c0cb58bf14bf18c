"""Scatter: the density of the cube's pixels over two axes (bands, principal or MNF components,
band math) with the marked pixels over it; a box or lasso on it selects pixels, which are tinted
on the image and become an ROI in one click."""

import functools

import streamlit as st

from cubescope import Cube, CubeError, indices, scatter, state
from cubescope.plots import ScatterMark, scatter_figure
from cubescope.scatter import AXIS_KINDS, MAX_COMPONENTS, Axis
from cubescope.words import plural
from cubescope_ui import data, rois, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import mask_overlay, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.marks import marked_pixels
from cubescope_ui.text import plain

#: Cells along each axis of the density.
BINS = 160
SELECTED = "#ff2d2d"


def _corners(points) -> tuple[tuple[float, float], ...]:
    """A selection as the session keeps it: (x, y) pairs, comparable and hashable."""
    return tuple((float(x), float(y)) for x, y in scatter.polygon(points))


def _polygon(text: str, context: state.LinkContext) -> tuple[tuple[float, float], ...]:
    return _corners(scatter.decode_polygon(text))


def _axis_settings(name: str, which: int) -> dict[str, state.Setting]:
    """The settings of axis ``name`` ("x" or "y"), the ``which``-th of the pair."""
    def band(c: state.LinkContext) -> int:
        return scatter.default_bands(c.cube)[which] if c.cube is not None else c.default_band

    return {
        f"sc_{name}": state.Setting(f"{name} axis", state.choice(AXIS_KINDS), lambda c: "Band"),
        f"sc_{name}_band": state.Setting(f"{name} axis band", state.band, band, show=state.band_shown, per_cube=True),
        f"sc_{name}_comp": state.Setting(f"{name} axis component", state.integer(1, MAX_COMPONENTS),
                                         lambda c: which + 1),
        f"sc_{name}_expr": state.Setting(f"{name} axis expression", indices.link_expression,
                                         indices.link_default_expression),
    }


SETTINGS = {
    **_axis_settings("x", 0), **_axis_settings("y", 1),
    "sc_sel": state.Setting("selection", _polygon, lambda c: None, encode=scatter.encode_polygon, per_cube=True,
                            unset="no selection"),
    **state.stretch_settings("sc_"),
}


def axis_picker(name: str, which: int, cube: Cube, context: state.LinkContext) -> Axis:
    """What axis ``name`` shows: a band, a component or an expression."""
    kind = widgets.kept(st.segmented_control, f"sc_{name}", context, f"{name.upper()} axis", options=list(AXIS_KINDS),
                        default="Band")
    if kind == "Band":
        default = scatter.default_bands(cube)[which]
        return Axis(kind, band=widgets.band_slider(cube, context, f"sc_{name}_band", "Band", default))
    if kind == "Band math":
        return Axis(kind, expression=widgets.kept(st.text_input, f"sc_{name}_expr", context, "Expression",
                                                  value=indices.default_expression(cube),
                                                  max_chars=indices.MAX_EXPRESSION,
                                                  help="As on the Band math page: R860, b12, NDVI, (R860-R660)/…"))
    most = max(1, scatter.components(cube))
    return Axis(kind, component=widgets.kept(st.number_input, f"sc_{name}_comp", context, "Component", min_value=1,
                                             max_value=most, value=min(which + 1, most), step=1,
                                             allowed=lambda v: 1 <= v <= most))


def _on_select(axes: str) -> None:
    """A box or lasso drawn on the scatter becomes the selection (made on ``axes``). An empty
    report (a redraw, a double-click) keeps the selection: "Clear" clears it."""
    drawn = scatter.drawn_polygon((st.session_state.get("scatter") or {}).get("selection"))
    if drawn is not None:
        session.set_selection("sc_sel", _corners(drawn), axes)


def selection_panel(mask, corners) -> None:
    """How many pixels the selection holds, and the buttons that make it an ROI or clear it."""
    if corners is None:
        st.caption("Draw a box or a lasso on the scatter (its Box select and Lasso select tools) to select pixels: "
                   "they are tinted red on the image. A region or ROI drawn on the image shows in the scatter.")
        return
    st.markdown(f"**{plural(int(mask.sum()), 'pixel')} selected**, tinted red on the image.")
    label_col, make_col, clear_col = st.columns([1.2, 1.2, 0.8], vertical_alignment="bottom")
    label_col.text_input("Class", key="sc_class", max_chars=40, placeholder="e.g. vegetation",
                         help="The class the new ROI is given (classification learns from ROIs' classes).")
    make_col.button("Make an ROI", key="sc_make_roi", on_click=rois.add_from_mask, args=(mask, "sc_class", "scatter"),
                    disabled=not mask.any(), width="stretch")
    clear_col.button("Clear", key="sc_clear", on_click=session.forget, args=("sc_sel",), width="stretch")
    note = session.take_note("scatter")
    if note:
        st.info(plain(note))


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    x_col, y_col = st.columns(2)
    with x_col:
        x = axis_picker("x", 0, cube, context)
    with y_col:
        y = axis_picker("y", 1, cube, context)
    try:
        x_product, y_product = x.product(cube), y.product(cube)
        found = data.density(cube_id, x_product, y_product, BINS)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    axes = repr((x, y))
    corners = session.selection("sc_sel", axes, context)  # one drawn on other axes means nothing on these
    mask = data.selected(cube_id, x_product, y_product, corners) if corners is not None else None
    x_title, y_title = x.title(context.band_label), y.title(context.band_label)
    image_col, plot_col = two_columns("scatter", (1, 1))
    with image_col:
        show_image("image_sc", cube_id, cube, context, x_product, prefix="sc_", label=f"x axis: {x_title}",
                   outlines=[mask_overlay(mask, SELECTED, "selection")] if mask is not None and mask.any() else ())
    with plot_col:
        images = data.derived_image(cube_id, x_product), data.derived_image(cube_id, y_product)
        marks = [ScatterMark(m.name, m.colour, *scatter.sample_points(*images, m.mask), pin=m.pin)
                 for m in marked_pixels(cube)]
        st.plotly_chart(scatter_figure(found, x_title, y_title, marks, corners, SELECTED), key="scatter",
                        on_select=functools.partial(_on_select, axes), selection_mode=("box", "lasso"),
                        config={"displaylogo": False})
        st.caption(plain(f"{plural(found.used, 'pixel')} in {BINS} x {BINS} cells"
                         + (f"; {plural(found.outside, 'pixel')} far beyond the others (a glint, a fill value) "
                            "left out of the axes" if found.outside else "") + "."))
        selection_panel(mask, corners)


page("The Scatter page", lambda cube: f"Scatter · {cube.name}", body)
