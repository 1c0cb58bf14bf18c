"""Classes and unmixing: k-means classes of the pixels, and abundances of endmembers."""

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, export, state
from cubescope import roi as roi_module
from cubescope.display import class_colours
from cubescope.library import SpectralLibrary
from cubescope.plots import Trace
from cubescope.unmixing import AbundanceImage, atgp, unmix
from cubescope.words import plural
from cubescope_ui import data, exporting, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain
from cubescope_ui.viewer import image_viewer, kmeans_tile

VIEWS = ("k-means classes", "Unmixing")
SOURCES = ("Pins, region and ROIs", "ATGP (from the image)", "k-means class means", "Library")
SETTINGS = {
    "um_view": state.Setting("classes view", state.choice(VIEWS), lambda c: VIEWS[0]),
    "um_k": state.Setting("number of classes", state.integer(2, 12), lambda c: 5),
    "um_seed": state.Setting("seed", state.integer(0, 9999), lambda c: 0),
    "um_source": state.Setting("endmembers from", state.choice(SOURCES), lambda c: SOURCES[1]),
    "um_n": state.Setting("number of endmembers", state.integer(2, 10), lambda c: 4),
    "um_sum": state.Setting("abundances sum to one", state.flag, lambda c: True, encode=state.flag_text),
    "um_image": state.Setting("abundance image", state.integer(0, 10), lambda c: 0),
    **state.stretch_settings("um_"),
}


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    if context.usable_bands < 2:
        st.info(plain(f"Classes and unmixing need at least two usable bands; '{cube.name}' has "
                      f"{plural(context.usable_bands, 'usable band')}."))
        return
    view = widgets.kept(st.segmented_control, "um_view", context, "Show", options=list(VIEWS),
                        default=VIEWS[0])
    if view == VIEWS[0]:
        classes(cube_id, cube, context)
    else:
        abundance_maps(cube_id, cube, context)


def classes(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    """k-means: the class map, its legend and the class mean spectra."""
    left, right = st.columns(2)
    n = widgets.kept(left.slider, "um_k", context, "Classes", min_value=2, max_value=12, value=5)
    seed = widgets.kept(right.number_input, "um_seed", context, "Seed", min_value=0, max_value=9999, value=0,
                        help="The same seed gives the same classes.")
    try:
        result = data.kmeans_classes(cube_id, n, seed)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    image_col, side_col = two_columns("unmixing")
    with image_col:
        tile = kmeans_tile("image_um", cube_id, cube, n, seed)
        names = [f"class {i}" for i in range(n)]
        image_viewer("image_um", cube, tile, label="k-means class", channel_names=("class",),
                     name=f"kmeans-{n}-{seed}", value_names=names)
        st.caption(plain(f"scikit-learn's MiniBatchKMeans over every pixel with data (seed {seed}), on "
                         f"{plural(result.bands.size, 'band')}; pixels without data in a used band have no class."))
    with side_col:
        colours = class_colours(n)
        hexes = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours]
        spectra_chart("um_means", [Trace(f"class {i} ({c} px)", m, colour=h) for i, (m, c, h)
                                   in enumerate(zip(result.centers, result.counts, hexes, strict=True))],
                      cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                      y_title=f"class mean {cube.quantity or 'value'}",
                      name_parts=(cube.name, "class means"))
        band = cube.default_band()
        st.caption(plain(f"Each class as an ROI: its pixels, and mean and std at {context.band_label(band)}."))
        stats = data.class_stats(cube_id, n, seed, band)
        st.dataframe([{"class": i, "colour": h, "pixels": int(c), "mean": f"{m:.5g}", "std": f"{s:.5g}"}
                      for i, (c, h, (m, s)) in enumerate(zip(result.counts, hexes, stats, strict=True))],
                     hide_index=True, width="stretch")
        exporting.spectra_panel({f"class {i}": m for i, m in enumerate(result.centers)}, cube.wavelengths,
                                cube.wavelength_units, cube.bad_bands, (cube.name, f"kmeans {n}"), key="um_export")
        exporting.class_map_download(lambda: result.labels, names, hexes, (cube.name, f"kmeans {n} seed {seed}"),
                                     key="um_export_map", geo=cube.geo)
        st.button("Add the classes as ROIs", key="um_to_rois", on_click=_classes_to_rois,
                  args=(result.labels, hexes, f"k-means {n} (seed {seed})"),
                  help="Each class becomes an ROI (its exact pixels, traced along their edges), shown on every page.")
        if st.session_state.get("um_roi_note"):
            st.caption(plain(st.session_state["um_roi_note"]))


def _classes_to_rois(labels: np.ndarray, colours: list[str], label: str) -> None:
    """Each class as an ROI of exactly its pixels; classes too ragged for an ROI are skipped."""
    added, skipped = [], []
    areas = session.rois()
    for k, colour in enumerate(colours):
        name = f"class {k}"
        try:
            area = roi_module.ROI.from_mask(name, labels == k, colour=colour, label=label)
        except CubeError:
            skipped.append(name)
            continue
        areas[:] = [a for a in areas if a.name != name]
        areas.append(area)
        added.append(name)
    del areas[:-roi_module.MAX_ROIS]
    note = f"Added {', '.join(added)} as ROIs." if added else "No class could be added."
    if skipped:
        note += (f" Skipped {', '.join(skipped)}: a boundary of more than {roi_module.MAX_TOTAL_VERTICES:,} corners "
                 "(try fewer classes).")
    st.session_state["um_roi_note"] = note


def endmembers(cube_id: str, cube: Cube, context: state.LinkContext) -> SpectralLibrary | None:
    """The endmembers the user chose: pins, region and ROIs; ATGP; or the Library page's library."""
    source = widgets.kept(st.radio, "um_source", context, "Endmembers from", options=list(SOURCES),
                          index=1, horizontal=True)
    if source == SOURCES[0]:
        names, spectra = [], []
        for r, c in session.pins_in(cube):
            names.append(f"pixel ({r}, {c})")
            spectra.append(cube.spectrum(r, c))
        box = session.region()
        if box is not None:
            names.append("region mean")
            spectra.append(data.region_stats(cube_id, tuple(box)).mean)
        for area in session.rois():
            stats = data.roi_stats(cube_id, roi_module.encode_rois([area]))
            if stats.count:
                names.append(area.name)
                spectra.append(stats.mean)
        if len(names) < 2:
            st.info("Pin at least two pixels (or select a region, or draw ROIs) to use them as endmembers.")
            return None
        names, spectra = names[:10], spectra[:10]
        return SpectralLibrary(names, np.array(spectra), np.arange(cube.n_bands), None, {"source": "pins and ROIs"})
    if source == SOURCES[1]:
        n = widgets.kept(st.slider, "um_n", context, "Endmembers to find", min_value=2, max_value=10, value=4)
        pixels, spectra = data.computed(cube_id, "Finding endmembers (ATGP)…", atgp, n)
        st.caption(plain("ATGP (Ren & Chang 2003): the brightest pixel, then each time the pixel farthest from the "
                         "span of those found: " + ", ".join(f"({r}, {c})" for r, c in pixels) + "."))
        return SpectralLibrary([f"ATGP {k + 1} ({r}, {c})" for k, (r, c) in enumerate(pixels)], spectra,
                               np.arange(cube.n_bands), None, {"source": "ATGP"})
    if source == SOURCES[2]:
        n = int(session.setting("um_k", context))
        seed = int(session.setting("um_seed", context))
        try:
            result = data.kmeans_classes(cube_id, n, seed)
        except CubeError as exc:
            st.warning(plain(exc))
            return None
        st.caption(plain(f"The mean spectra of the {n} k-means classes (seed {seed}; set on the k-means view)."))
        return SpectralLibrary([f"class {i}" for i in range(n)], np.nan_to_num(result.centers),
                               np.arange(cube.n_bands), None, {"source": "k-means classes"})
    library = st.session_state.get("library")
    if library is None or cube.wavelengths_nm is None:
        st.info("Load a library on the Library page first (this cube needs wavelengths to use one).")
        return None
    resampled = library.resampled(cube.wavelengths_nm, cube.fwhm_nm)
    if len(resampled.names) > 10:
        st.info(plain(f"The library holds {len(resampled.names)} spectra; the first 10 are used as endmembers."))
    return SpectralLibrary(resampled.names[:10], resampled.spectra[:10], np.arange(cube.n_bands), None,
                           dict(resampled.metadata))


def abundance_maps(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    """Unmixing: an abundance image per endmember and the residual error map."""
    chosen = endmembers(cube_id, cube, context)
    if chosen is None:
        return
    usable = cube.good_bands & np.isfinite(chosen.spectra).all(axis=0)
    if usable.sum() < 2:
        st.warning(plain("The endmembers share fewer than two usable bands with the cube."))
        return
    spectra = np.where(usable, chosen.spectra, 0.0)  # bad bands carry no weight: zero in the endmembers
    sum_to_one = widgets.kept(st.toggle, "um_sum", context, "Abundances sum to one (fully constrained)", value=True,
                              help="Off: non-negative least squares only.")
    options = list(range(len(chosen.names) + 1))
    shown = widgets.kept(st.selectbox, "um_image", context, "Image", options=options, index=0,
                         format_func=lambda i: chosen.names[i] if i < len(chosen.names) else "residual error (RMS)",
                         allowed=lambda v: v in options)
    image_col, side_col = two_columns("unmixing_abundance")
    with image_col:
        label = (f"abundance of {chosen.names[shown]}" if shown < len(chosen.names) else "unmixing residual (RMS)")
        show_image("image_um", cube_id, cube, context, AbundanceImage(spectra, sum_to_one, shown), prefix="um_",
                   label=label, export=Export((cube.name, label), "export_um", export.image_metadata(
                       cube, product=label, endmembers=chosen.names, sum_to_one=sum_to_one)))
    with side_col:
        colours = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in class_colours(len(chosen.names))]
        spectra_chart("um_endmembers", [Trace(n, np.where(usable, s, np.nan), colour=c)
                                        for n, s, c in zip(chosen.names, chosen.spectra, colours, strict=True)],
                      cube.wavelengths, cube.wavelength_units, cube.bad_bands, y_title=cube.quantity or "value",
                      name_parts=(cube.name, "endmembers"))
        pins = session.pins_in(cube)
        if pins:
            table = data.computed(cube_id, AbundanceImage.doing, unmix, spectra, sum_to_one=sum_to_one)
            st.dataframe([{"pixel": f"({r}, {c})", **{n: f"{table[r, c, i]:.3f}" for i, n in enumerate(chosen.names)}}
                          for r, c in pins], hide_index=True, width="stretch")
        widgets.pin_controls(cube)


page("The Classes page", lambda cube: f"Classes and unmixing · {cube.name}", body)
