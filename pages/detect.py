"""Detection: anomalies (RX) or a target (matched filter, ACE, CEM), scored in every pixel, the
detections above a threshold outlined and counted, the target beside the best detections."""

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, export, state
from cubescope.detect import DETECTORS, DetectionImage, detections
from cubescope.library import MAX_FILE_BYTES
from cubescope.plots import Trace
from cubescope.words import number_text, plural
from cubescope_ui import data, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, outline, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.marks import marked_spectra
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain


def _name(text: str, context: state.LinkContext) -> str:
    if not text.strip() or len(text) > 120:
        raise ValueError("not a spectrum's name")
    return text


SETTINGS = {
    "dt_method": state.Setting("detector", state.choice(DETECTORS), lambda c: DETECTORS[0]),
    "dt_target": state.Setting("target", _name, lambda c: None),
    "dt_absorb": state.Setting("target is an absorption spectrum", state.flag, lambda c: False,
                               encode=state.flag_text),
    "dt_local": state.Setting("local background", state.flag, lambda c: False, encode=state.flag_text),
    "dt_inner": state.Setting("inner window", state.integer(1, 99, odd=True), lambda c: 3),
    "dt_outer": state.Setting("outer window", state.integer(3, 199, odd=True), lambda c: 15),
    "dt_threshold": state.Setting("detection threshold", state.number, lambda c: None, encode=state.number_text,
                                  per_cube=True),
    **state.stretch_settings("dt_"),
}
OUTLINE = "#ff2d2d"


def targets(cube_id: str, cube: Cube) -> dict[str, np.ndarray]:
    """The spectra a target can be: the pins, ROIs and region, the loaded library's and those
    of a target file, resampled to the cube's bands."""
    found = {m.name: m.values for m in marked_spectra(cube_id, cube)}
    for kind, prefix in (("library", "library"), ("targets", "file")):
        library, _ = session.library(kind)
        if library is not None and cube.wavelengths_nm is not None:
            try:
                on_cube, _ = library.for_cube(cube)
                found.update({f"{prefix}: {n}": s for n, s in zip(on_cube.names, on_cube.spectra, strict=True)})
            except CubeError:
                pass  # the library shares too few bands with this cube: not offered
    return found


def target_file(cube: Cube) -> None:
    """An uploader for target spectra: a CSV (a gas's unit absorption spectrum, a field
    spectrum) or an ENVI spectral library."""
    if cube.wavelengths_nm is None:
        return
    loaded, problem = session.library("targets")
    count = f" ({plural(len(loaded.names), 'spectrum', 'spectra')})" if loaded else ""
    with st.expander(f"Target spectra from a file{count}", expanded=bool(problem)):
        st.file_uploader("CSV (wavelength column, one column per spectrum, e.g. a gas's unit absorption) or ENVI "
                         ".sli + .hdr", type=["csv", "txt", "sli", "hdr"], accept_multiple_files=True,
                         key="dt_upload", on_change=session.load_library, args=("dt_upload", "targets"),
                         max_upload_size=MAX_FILE_BYTES // 2**20)
        if problem:
            st.warning(plain(problem))


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    if context.usable_bands < 2:
        st.info(plain(f"Detection needs at least two usable bands; '{cube.name}' has "
                      f"{plural(context.usable_bands, 'usable band')}."))
        return
    method = widgets.kept(st.segmented_control, "dt_method", context, "Detector", options=list(DETECTORS),
                          default=DETECTORS[0], on_change=session.forget, args=("dt_threshold",),
                          help="RX: anomalies, far from the background. Matched filter, ACE, CEM: a target spectrum.")
    right, a, b, c = st.columns([2, 1.4, 0.8, 0.8], vertical_alignment="bottom")
    target = name = None
    absorption = False
    if method != "RX":
        target_file(cube)
        offered = targets(cube_id, cube)
        if not offered:
            st.info("Pin a pixel, draw an ROI or select a region, or give a file of target spectra (or load a "
                    "library on the Library page): its spectrum is the target.")
            return
        name = widgets.kept(right.selectbox, "dt_target", context, "Target", options=list(offered), index=0,
                            on_change=session.forget, args=("dt_threshold",))
        target = offered[name]
        if method != "CEM":
            absorption = widgets.kept(st.toggle, "dt_absorb", context, "The target is a unit absorption spectrum",
                                      value=False, on_change=session.forget, args=("dt_threshold",),
                                      help="A gas's absorption per unit of it (e.g. methane's, per ppm m): the "
                                           "target becomes the background mean seen through one unit, and matched "
                                           "filter scores read in that unit.")
    window = None
    if method != "CEM":
        if widgets.kept(a.toggle, "dt_local", context, "Local background", value=False,
                        help="The background's mean from the pixels between an inner and an outer square around "
                             "each pixel; its covariance from the whole cube."):
            inner = widgets.kept(b.number_input, "dt_inner", context, "Inner window", min_value=1, max_value=99,
                                 step=2, value=3)
            outer = widgets.kept(c.number_input, "dt_outer", context, "Outer window", min_value=3, max_value=199,
                                 step=2, value=15)
            window = (int(inner), int(outer))
    product = DetectionImage(method, target, window, absorption)
    try:
        low, high = data.value_range(cube_id, product)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    image_col, side_col = two_columns("detect")
    with image_col:
        start = float(f"{data.limits(cube_id, product, 'percentile', 0.0, 99.9, None, None)[1]:.4g}")
        threshold = widgets.kept(st.number_input, "dt_threshold", context, "Detection threshold (score)",
                                 value=start, format="%g", allowed=lambda v: low <= v <= high,
                                 help="Pixels scoring at least this are detections (it starts at the 99.9th "
                                      "percentile of the scores).")
        if threshold == start:
            session.settings().pop("dt_threshold", None)  # the starting value follows the scores: not in the link
        found = detections(data.derived_image(cube_id, product), threshold)
        label = f"{method} score" + (f" for {name}" if name else "")
        show_image("image_dt", cube_id, cube, context, product, prefix="dt_", label=label,
                   outlines=outline(found.mask, OUTLINE, "detections") if found.pixels else (),
                   export=Export((cube.name, label), "export_dt", export.image_metadata(
                       cube, product=label, detector=method, window=str(window or "global"))))
        st.caption(plain(f"{plural(found.pixels, 'pixel')} at or above {threshold:g}, in "
                         f"{plural(found.objects, 'group')} of touching pixels (outlined in red)."))
    with side_col:
        # An absorption spectrum is not on the pixels' scale: the chart shows the pixels alone.
        best(cube, None if absorption else target, name, found)


def best(cube: Cube, target: np.ndarray | None, name: str | None, found) -> None:
    """The target beside the spectra of the best-scoring pixels, and their scores."""
    traces = [Trace(f"target: {name}", target, dash="dash", colour="#333333")] if target is not None else []
    traces += [Trace(f"({r}, {c})", cube.spectrum(r, c), marker=k) for k, (r, c, _) in enumerate(found.top)]
    spectra_chart("dt_spectra", traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=cube.quantity or "value", name_parts=(cube.name, "detections"))
    st.dataframe([{"pixel": f"({r}, {c})", "score": number_text(s)} for r, c, s in found.top], hide_index=True,
                 width="stretch")
    widgets.pin_controls(cube)


page("The Detection page", lambda cube: f"Detection · {cube.name}", body)
