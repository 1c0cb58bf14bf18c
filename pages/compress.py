"""Compression: PCA, an autoencoder and a Fourier basis at the same code size, side by side."""

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, export, state
from cubescope.compress import (
    STANDARDIZATIONS,
    ReconstructionImage,
    parameters_npz,
    reconstruct_pixels,
    standardization,
)
from cubescope.pca import MAX_COMPONENTS
from cubescope.plots import Trace, training_figure
from cubescope_ui import data, exporting, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import show_image, show_rgb
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain
from cubescope_ui.widgets import Stretch

COLOURS = {"PCA": "#1f77b4", "autoencoder": "#d62728", "Fourier": "#2ca02c"}
COMPRESSIONS = tuple(COLOURS)
SETTINGS = {
    "cz_k": state.Setting("code size", state.integer(1, lambda c: max(1, min(MAX_COMPONENTS, c.usable_bands))),
                          lambda c: max(1, min(5, c.usable_bands))),
    "cz_region": state.Setting("fit on the region", state.flag, lambda c: False, encode=state.flag_text),
    "cz_seed": state.Setting("seed", state.integer(0, 9999), lambda c: 0),
    "cz_codes": state.Setting("codes of", state.choice(COMPRESSIONS), lambda c: COMPRESSIONS[1]),
    "cz_std": state.Setting("standardization", state.choice(STANDARDIZATIONS), lambda c: STANDARDIZATIONS[0]),
}


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    usable = context.usable_bands
    if usable < 2:
        st.info(plain(f"Compression needs at least two usable bands; '{cube.name}' has {usable}."))
        return
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    most = max(1, min(MAX_COMPONENTS, usable))
    k = widgets.kept(left.slider, "cz_k", context, "Code size k (numbers per pixel)", min_value=1, max_value=most,
                     value=min(5, most), allowed=lambda v: 1 <= v <= most)
    seed = widgets.kept(middle.number_input, "cz_seed", context, "Seed", min_value=0, max_value=9999, value=0)
    region = session.region()
    on_region = widgets.kept(right.toggle, "cz_region", context, "Fit on the region", value=False,
                             disabled=region is None, help="Drag a rectangle on an image to select a region.")
    key = data.compression_key(cube_id, k, tuple(region) if (on_region and region) else None, seed)
    try:
        results = data.compression(key, fit=True)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    autoencoder, pca = data.compression_models(key)
    summary(cube, results, autoencoder)
    error_maps(cube_id, cube, context, key, results)
    codes(cube_id, cube, context, key, results, k)
    pinned(cube, autoencoder, pca)
    standardized(cube_id, cube, context)


def summary(cube: Cube, results: dict, autoencoder) -> None:
    """Overall errors, the RMSE per band, and the training curve."""
    st.dataframe([{"method": name, **r.summary()} for name, r in results.items()], hide_index=True, width="stretch")
    left, right = two_columns("compress_errors")
    with left:
        spectra_chart("cz_rmse", [Trace(name, r.band_rmse, colour=COLOURS[name]) for name, r in results.items()],
                      cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                      y_title=f"RMSE per band ({cube.quantity or 'value'})",
                      name_parts=(cube.name, "RMSE per band"))
    right.plotly_chart(training_figure(autoencoder.loss_curve_, autoencoder.validation_curve_, autoencoder.pca_mse_,
                                       COLOURS["autoencoder"], COLOURS["PCA"]), key="cz_curve")
    right.caption(plain(autoencoder.describe()))
    right.download_button("Autoencoder parameters (.npz)", lambda: parameters_npz(autoencoder),
                          file_name=f"{export.safe_filename(cube.name)}_autoencoder_k{autoencoder.n_components}.npz",
                          mime="application/octet-stream", key="cz_params", on_click="ignore",
                          help="The bands used, the principal axes (mean, components, sigma) and the weights; its "
                               "'formula' entry says how codes and reconstructions are computed from them.")


def error_maps(cube_id: str, cube: Cube, context: state.LinkContext, key: tuple, results: dict) -> None:
    """Per-pixel RMSE of each method, with one stretch for the three (0 to PCA's 98th
    percentile: a method doing worse saturates, one doing better is darker)."""
    top = data.limits(cube_id, ReconstructionImage(key, "PCA", None, results["PCA"]), "percentile", 2.0, 98.0,
                      None, None)[1]
    stretch = Stretch("range", 2.0, 98.0, 0.0, top if top > 0 else 1.0, "viridis")
    st.markdown("**Per-pixel RMSE**, " + plain(f"one stretch for the three: 0 to {top:.4g} (PCA's 98th percentile)"))
    for column, name in zip(st.columns(3), results, strict=True):
        with column:
            st.caption(name)
            show_image(f"image_cz_{name}", cube_id, cube, context,
                       ReconstructionImage(key, name, None, results[name]), label=f"{name} RMSE", colorbar="RMSE",
                       stretch=stretch)


def codes(cube_id: str, cube: Cube, context: state.LinkContext, key: tuple, results: dict, k: int) -> None:
    """The codes of one method as an image (an RGB of its first three)."""
    method = widgets.kept(st.segmented_control, "cz_codes", context, "Codes of", options=list(COMPRESSIONS),
                          default=COMPRESSIONS[1])
    image_col, _ = two_columns("compress_codes")
    with image_col:
        codes = [ReconstructionImage(key, method, j, results[method]) for j in range(min(k, 3))]
        if k >= 3:
            show_rgb("image_cz_codes", cube_id, cube, context, tuple(codes), label=f"{method} codes 1-3",
                     channel_names=("1", "2", "3"), stretch=widgets.RGBStretch("percentile", 2.0, 98.0, None))
        else:
            show_image("image_cz_codes", cube_id, cube, context, codes[0], label=f"{method} code 1",
                       stretch=Stretch("percentile", 2.0, 98.0, None, None, "gray"))
        with st.expander(f"Export the {k} {method} codes"):
            bsq = np.moveaxis(results[method].codes, 2, 0)
            exporting.cube_panel(f"{method} codes", lambda: np.ascontiguousarray(bsq), f"{cube.name} {method} k{k}",
                                 key="cz_export_codes", nbytes=cube.rows * cube.cols * k * 4, geo=cube.geo,
                                 metadata=export.image_metadata(cube, product=f"{method} codes, k = {k}"),
                                 band_names=[f"{method} code {i + 1}" for i in range(k)])


def pinned(cube: Cube, autoencoder, pca) -> None:
    """Each pin's spectrum beside its three reconstructions."""
    pins = session.pins_in(cube)[:4]
    if not pins:
        st.info("Pin pixels (here or on any page) to see their spectra beside each reconstruction.")
        return
    spectra, rebuilt = reconstruct_pixels(cube, pins, autoencoder, pca)
    traces = []
    for i, (r, c) in enumerate(pins):
        if not np.isfinite(spectra[i]).any():
            continue  # no data at some band the methods use
        traces.append(Trace(f"({r}, {c})", spectra[i], colour="#333333"))
        traces += [Trace(f"({r}, {c}) {name}", values[i], dash="dot", colour=COLOURS[name])
                   for name, values in rebuilt.items()]
    spectra_chart("cz_pins", traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=cube.quantity or "value", name_parts=(cube.name, "reconstructions"))


def standardized(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    """The cube standardized per band, exported with its parameters."""
    with st.expander("Standardized cube (per-band z-score or min-max)"):
        method = widgets.kept(st.radio, "cz_std", context, "Standardization", options=list(STANDARDIZATIONS),
                              index=0, horizontal=True)
        exporting.standardized_panel(cube, method, data.computed(cube_id, "Measuring every band…", standardization,
                                                                 method))


page("The Compression page", lambda cube: f"Compression · {cube.name}", body)
