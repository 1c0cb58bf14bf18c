"""Library matching: load a spectral library or make one from the pins, and match every pixel (SAM)."""

import io
import zipfile

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, export, state
from cubescope.demo import demo_library
from cubescope.display import class_colours
from cubescope.library import (
    AngleImage,
    SpectralLibrary,
    best_match,
    library_from_csv,
    library_from_envi,
    library_to_csv,
    library_to_envi,
    spectral_angles,
)
from cubescope.plots import Trace
from cubescope.words import plural
from cubescope_ui import data, exporting, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import html_text, plain
from cubescope_ui.viewer import class_tile, image_viewer

VIEWS = ("Class map", "Angle to one reference")


def _angle(text: str, context: state.LinkContext) -> float:
    value = state.number(text, context)
    if not 0 < value <= np.pi:
        raise ValueError("not an angle between 0 and π radians")
    return value


SETTINGS = {
    "sam_view": state.Setting("library view", state.choice(VIEWS), lambda c: VIEWS[0]),
    "sam_ref": state.Setting("reference", state.integer(0, 9999), lambda c: 0),
    "sam_threshold": state.Setting("largest angle of a match", _angle, lambda c: 0.1, encode=state.number_text),
    **state.stretch_settings("sam_"),
}

#: Largest library file read from an upload.
MAX_LIBRARY_BYTES = 64 * 2**20


#: Largest library file taken, in MB: 10,000 spectra of 425 bands as ENVI float32 take 17 MB
#: (a CSV is held to its own, smaller limit when read).
LIBRARY_UPLOAD_MB = 64


def _load_upload() -> None:
    """Read the uploaded library (CSV, or ENVI .sli/.hdr pair) into the session."""
    st.session_state.pop("library_error", None)
    files = st.session_state.get("lib_upload") or []
    try:
        if any(f.size > MAX_LIBRARY_BYTES for f in files):
            raise CubeError(f"A library file is larger than {MAX_LIBRARY_BYTES // 2**20} MB.")
        by_suffix = {f.name.lower().rsplit(".", 1)[-1]: f for f in files}
        if "csv" in by_suffix or "txt" in by_suffix:
            chosen = by_suffix.get("csv") or by_suffix["txt"]
            library = library_from_csv(chosen.getvalue(), name=chosen.name)
        elif "hdr" in by_suffix and len(files) == 2:
            header = by_suffix.pop("hdr")
            body = next(iter(by_suffix.values()))
            library = library_from_envi(header.getvalue(), body.getvalue(), name=header.name)
        elif files:
            raise CubeError("Upload a CSV library, or an ENVI spectral library as its .sli and .hdr together.")
        else:
            return
    except CubeError as exc:
        st.session_state["library_error"] = str(exc)
        return
    st.session_state["library"] = library


def _from_pins(cube_id: str, cube: Cube) -> None:
    """The pinned pixels' spectra, and the region's mean when one is selected, as a library."""
    pins = session.pins_in(cube)
    names = [f"pixel ({r}, {c})" for r, c in pins]
    spectra = [cube.spectrum(r, c) for r, c in pins]
    box = session.region()
    if box is not None:
        names.append(f"region mean {box[0]}-{box[1]} x {box[2]}-{box[3]}")
        spectra.append(data.region_stats(cube_id, tuple(box)).mean)
    st.session_state["library"] = SpectralLibrary(names, np.array(spectra, dtype=np.float64), cube.wavelengths_nm,
                                                  cube.fwhm_nm, {"source": "pinned pixels and region"})


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    if cube.wavelengths_nm is None:
        st.info(plain(f"Matching against a library needs wavelengths in a length unit; '{cube.name}' has none."))
        return
    source_col, use_col = st.columns([3, 1], vertical_alignment="bottom")
    source_col.file_uploader("Spectral library: CSV (wavelength column, one column per spectrum) or ENVI .sli + .hdr",
                             type=["csv", "txt", "sli", "hdr"], accept_multiple_files=True, key="lib_upload",
                             on_change=_load_upload, max_upload_size=LIBRARY_UPLOAD_MB)
    use_col.button("Use the pins", on_click=_from_pins, args=(cube_id, cube),
                   disabled=not session.pins_in(cube) and session.region() is None, width="stretch",
                   help="The pinned pixels' spectra (and the selected region's mean) become the library.",
                   key="use_pins")
    if st.session_state.get("library_error"):
        st.warning(plain(st.session_state["library_error"]))
    library = st.session_state.get("library")
    if library is None and cube_id == data.DEMO_ID:
        library = demo_library()  # the demo's own materials: the page means something at once
    if library is None:
        st.info("Load a library or pin pixels and use them: every pixel is then matched against its spectra by the "
                "spectral angle (SAM).")
        return
    try:
        on_cube = _on_cube_bands(library, cube)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    usable = np.isfinite(on_cube.spectra).all(axis=0) & cube.good_bands
    if usable.sum() < 2:
        st.warning(plain("The library and the cube share fewer than two bands; it cannot be matched here."))
        return
    on_cube.spectra[:, ~usable] = np.nan
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
            tile = class_tile("image_sam", cube_id, cube, key, threshold)
            image_viewer("image_sam", cube, tile, label="best match", channel_names=("class", "angle"),
                         quantity="rad", name=f"classes-{key}-{threshold}", value_names=on_cube.names)
            legend(cube_id, key, threshold, on_cube.names)
            exporting.class_map_download(lambda: data.class_map(cube_id, key, threshold)[0], list(on_cube.names),
                                         [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in class_colours(len(on_cube.names))],
                                         (cube.name, "best match", f"{threshold:g} rad"), key="sam_export_map",
                                         geo=cube.geo)
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


def _on_cube_bands(library: SpectralLibrary, cube: Cube) -> SpectralLibrary:
    """The library on the cube's bands: as it is when the wavelengths agree, else resampled
    with the cube's band widths (Gaussian responses)."""
    if library.wavelengths.size == cube.n_bands and np.allclose(library.wavelengths, cube.wavelengths_nm):
        return SpectralLibrary(list(library.names), library.spectra.copy(), library.wavelengths, library.fwhm,
                               dict(library.metadata))
    return library.resampled(cube.wavelengths_nm, cube.fwhm_nm)


def legend(cube_id: str, key: str, threshold: float, names: list[str]) -> None:
    """Each class's colour, name and pixel count."""
    classes, _ = data.class_map(cube_id, key, threshold)
    counts = np.bincount(classes[classes >= 0].ravel(), minlength=len(names))
    colours = class_colours(len(names))
    rows = [{"class": i, "reference": n, "pixels": int(counts[i])} for i, n in enumerate(names)]
    rows.append({"class": -1, "reference": f"no match within {threshold:g} rad", "pixels": int((classes < 0).sum())})
    swatches = (f"<span style='background:#{c[0]:02x}{c[1]:02x}{c[2]:02x};padding:0 0.6em;border-radius:3px'>"
                f"&nbsp;</span> {i} {html_text(n)}" for i, (n, c) in enumerate(zip(names, colours, strict=True)))
    st.markdown(" &nbsp; ".join(swatches), unsafe_allow_html=True)
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

    def envi() -> bytes:
        header, body = library_to_envi(library)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("library.hdr", header)
            archive.writestr("library.sli", body)
        return buffer.getvalue()

    right.download_button("Library (ENVI .zip)", envi, file_name="library.zip", mime="application/zip",
                          key="lib_envi", on_click="ignore", width="stretch")


page("The Library page", lambda cube: f"Library matching · {cube.name}", body)
