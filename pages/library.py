"""Library matching: load a spectral library or make one from the pins, and match every pixel (SAM)."""

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, export, state
from cubescope.demo import demo_library
from cubescope.library import (
    MAX_FILE_BYTES,
    AngleImage,
    SpectralLibrary,
    best_match,
    library_to_csv,
    library_to_envi_zip,
    spectral_angles,
)
from cubescope.plots import Trace
from cubescope.words import plural
from cubescope_ui import data, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, show_classes, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.marks import marked_spectra
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain
from cubescope_ui.viewer import class_tile

VIEWS = ("Class map", "Angle to one reference")
SETTINGS = {
    "sam_view": state.Setting("library view", state.choice(VIEWS), lambda c: VIEWS[0]),
    "sam_ref": state.Setting("reference", state.integer(0, 9999), lambda c: 0),
    "sam_threshold": state.Setting("largest angle of a match", state.angle, lambda c: 0.1, encode=state.number_text),
    **state.stretch_settings("sam_"),
}


def _from_marks(cube_id: str, cube: Cube) -> None:
    """The pinned pixels', the ROIs' and the region's spectra as a library."""
    marked = marked_spectra(cube_id, cube)
    session.set_library(SpectralLibrary([m.name for m in marked], np.array([m.values for m in marked], np.float64),
                                        cube.wavelengths_nm, cube.fwhm_nm, {"source": "pins, ROIs and region"}))


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    if cube.wavelengths_nm is None:
        st.info(plain(f"Matching against a library needs wavelengths in a length unit; '{cube.name}' has none."))
        return
    source_col, use_col = st.columns([3, 1], vertical_alignment="bottom")
    source_col.file_uploader("Spectral library: CSV (wavelength column, one column per spectrum) or ENVI .sli + .hdr",
                             type=["csv", "txt", "sli", "hdr"], accept_multiple_files=True, key="lib_upload",
                             on_change=session.load_library, args=("lib_upload",),
                             max_upload_size=MAX_FILE_BYTES // 2**20)
    use_col.button("Use the pins", on_click=_from_marks, args=(cube_id, cube),
                   disabled=not (session.pins_in(cube) or session.region() or session.rois()), width="stretch",
                   help="The pinned pixels' spectra, the ROIs' and the selected region's means become the library.",
                   key="use_pins")
    library, problem = session.library()
    if problem:
        st.warning(plain(problem))
    if library is None and cube_id == data.DEMO_ID:
        library = demo_library()  # the demo's own materials: the page means something at once
    if library is None:
        st.info("Load a library or pin pixels and use them: every pixel is then matched against its spectra by the "
                "spectral angle (SAM).")
        return
    try:
        on_cube, usable = library.for_cube(cube)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    key = data.keep_library(on_cube)
    st.caption(plain(f"{plural(len(library.names), 'reference')} from {library.metadata.get('source', 'the library')}, "
                     f"resampled to the cube's bands ({int(usable.sum())} of {cube.n_bands} bands shared)."))
    image_col, side_col = two_columns("library")
    with image_col:
        view = widgets.kept(st.segmented_control, "sam_view", context, "Show", options=list(VIEWS),
                            default=VIEWS[0])
        if view == "Class map":
            threshold = widgets.kept(st.slider, "sam_threshold", context, "Largest angle of a match (radians)",
                                     min_value=0.01, max_value=1.5, value=0.1, step=0.01)
            show_classes("image_sam", cube, class_tile("image_sam", cube_id, cube, key, threshold), on_cube.names,
                         label="best match", name=f"classes-{key}-{threshold}", channel_names=("class", "angle"),
                         quantity="rad", labels=lambda: data.class_map(cube_id, key, threshold)[0],
                         export=Export((cube.name, "best match", f"{threshold:g} rad"), "sam_export_map"))
            counts(cube_id, key, threshold, on_cube.names)
        else:
            count = len(on_cube.names)
            reference = widgets.kept(st.selectbox, "sam_ref", context, "Reference", options=list(range(count)),
                                     index=0, format_func=lambda i: on_cube.names[i], allowed=lambda v: 0 <= v < count)
            label = f"angle to {on_cube.names[reference]}"
            show_image("image_sam", cube_id, cube, context, AngleImage(on_cube.spectra[reference]), prefix="sam_",
                       label=label, quantity="rad", colorbar=f"{label} (rad)",
                       export=Export((cube.name, label), "export_sam",
                                     export.image_metadata(cube, product=label, units="radians")))
    with side_col:
        pinned(cube, on_cube, usable)
        downloads(library)


def counts(cube_id: str, key: str, threshold: float, names: list[str]) -> None:
    """Each class's pixel count, and the pixels matching none."""
    classes, _ = data.class_map(cube_id, key, threshold)
    found = np.bincount(classes[classes >= 0].ravel(), minlength=len(names))
    rows = [{"class": i, "reference": n, "pixels": int(found[i])} for i, n in enumerate(names)]
    rows.append({"class": -1, "reference": f"no match within {threshold:g} rad", "pixels": int((classes < 0).sum())})
    st.dataframe(rows, hide_index=True, width="stretch")


def pinned(cube: Cube, on_cube: SpectralLibrary, usable: np.ndarray) -> None:
    """The references' spectra, and each pin's best match."""
    traces = [Trace(n, s, dash="dot", marker=k) for k, (n, s) in enumerate(zip(on_cube.names, on_cube.spectra,
                                                                              strict=True))]
    pins = session.pins_in(cube)
    rows = []
    if pins:
        spectra = np.array([cube.spectrum(r, c) for r, c in pins], dtype=np.float64)
        angles = spectral_angles(spectra, np.nan_to_num(on_cube.spectra), bands=usable)
        classes, best = best_match(angles)
        for (r, c), cls, angle, spectrum in zip(pins, classes, best, spectra, strict=True):
            rows.append({"pixel": f"({r}, {c})", "best match": on_cube.names[cls] if cls >= 0 else "none",
                         "angle (rad)": f"{angle:.4f}"})
            traces.append(Trace(f"({r}, {c})", spectrum, marker=len(traces)))
    spectra_chart("sam_spectra", traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=cube.quantity or "value", name_parts=(cube.name, "library spectra"))
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    widgets.pin_controls(cube)


def downloads(library: SpectralLibrary) -> None:
    """The library as loaded or made, as CSV or ENVI spectral library."""
    left, right = st.columns(2)
    left.download_button("Library (.csv)", lambda: library_to_csv(library), file_name="library.csv", mime="text/csv",
                         key="lib_csv", on_click="ignore", width="stretch")
    right.download_button("Library (ENVI .zip)", lambda: library_to_envi_zip(library), file_name="library.zip",
                          mime="application/zip", key="lib_envi", on_click="ignore", width="stretch")


page("The Library page", lambda cube: f"Library matching · {cube.name}", body)
