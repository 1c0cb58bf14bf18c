"""Classes and unmixing: k-means classes of the pixels, and abundances of endmembers."""

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, export, state
from cubescope.plots import Trace
from cubescope.unmixing import AbundanceImage, unmix
from cubescope.words import plural
from cubescope_ui import data, exporting, session, widgets
from cubescope_ui.endmembers import SOURCES, choose_endmembers
from cubescope_ui.frame import page
from cubescope_ui.images import Export, class_colours, show_classes, show_image
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain
from cubescope_ui.viewer import kmeans_tile

VIEWS = ("k-means classes", "Unmixing")
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
    names, hexes = [f"class {i}" for i in range(n)], class_colours(n)
    with image_col:
        show_classes("image_um", cube, kmeans_tile("image_um", cube_id, cube, n, seed), names, label="k-means class",
                     name=f"kmeans-{n}-{seed}", labels=lambda: result.labels,
                     export=Export((cube.name, f"kmeans {n} seed {seed}"), "um_export_map"))
        st.caption(plain(f"scikit-learn's MiniBatchKMeans over every pixel with data (seed {seed}), on "
                         f"{plural(result.bands.size, 'band')}; pixels without data in a used band have no class."))
    with side_col:
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
        st.button("Add the classes as ROIs", key="um_to_rois", on_click=session.add_class_rois,
                  args=(result.labels, hexes, f"k-means {n} (seed {seed})"),
                  help="Each class becomes an ROI (its exact pixels, traced along their edges), shown on every page.")
        if session.class_rois_note():
            st.caption(plain(session.class_rois_note()))


def abundance_maps(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    """Unmixing: an abundance image per endmember and the residual error map."""
    chosen = choose_endmembers(cube_id, cube, context, "um_source", "um_n", ("um_k", "um_seed"))
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
        colours = class_colours(len(chosen.names))
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
