"""Compression: PCA, an autoencoder and a Fourier basis at the same code size, side by side."""

import io

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cubescope import Cube, CubeError, export, state
from cubescope.compress import ReconstructionImage, fourier_codec, standardization, standardize
from cubescope.pca import MAX_COMPONENTS
from cubescope.plots import Trace
from cubescope_ui import data, exporting, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import show_image, show_rgb
from cubescope_ui.layout import two_columns
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain
from cubescope_ui.widgets import Stretch

COLOURS = {"PCA": "#1f77b4", "autoencoder": "#d62728", "Fourier": "#2ca02c"}
COMPRESSIONS = tuple(COLOURS)
STANDARDIZATIONS = ("z-score", "min-max")
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
    if not data.has_compression(key):
        bar = st.progress(0.0, text="Training the autoencoder…")
        try:
            data.fit_compression(key, lambda fraction, text: bar.progress(min(fraction, 1.0), text=plain(text)))
        except CubeError as exc:
            bar.empty()
            st.warning(plain(exc))
            return
        bar.empty()
    results = data.compression(key)
    autoencoder, pca = data.compression_models(key)
    summary(cube, results, autoencoder)
    error_maps(cube_id, cube, context, key, results)
    codes(cube_id, cube, context, key, results, k)
    pinned(cube, autoencoder, pca)
    downloads(cube, key, results, autoencoder)
    standardized(cube_id, cube, context)


def summary(cube: Cube, results: dict, autoencoder) -> None:
    """Overall errors, the RMSE per band, and the training curve."""
    st.dataframe([{"method": name, "RMSE": f"{r.rmse:.5g}", "mean spectral angle (rad)": f"{np.nanmean(r.angle):.4g}",
                   "median pixel RMSE": f"{np.nanmedian(r.pixel_rmse):.4g}"} for name, r in results.items()],
                 hide_index=True, width="stretch")
    left, right = two_columns("compress_errors")
    with left:
        spectra_chart("cz_rmse", [Trace(name, r.band_rmse, colour=COLOURS[name]) for name, r in results.items()],
                      cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                      y_title=f"RMSE per band ({cube.quantity or 'value'})",
                      name_parts=(cube.name, "RMSE per band"))
    curve = go.Figure([
        go.Scatter(y=autoencoder.loss_curve_, mode="lines", name="training", line={"color": COLOURS["autoencoder"]}),
        go.Scatter(y=autoencoder.validation_curve_, mode="lines", name="held out",
                   line={"color": COLOURS["autoencoder"], "dash": "dot"}),
    ])
    curve.add_hline(y=autoencoder.pca_mse_, line={"color": COLOURS["PCA"], "dash": "dash"},
                    annotation_text="PCA", annotation_position="top right")
    curve.update_layout(height=300, margin={"l": 50, "r": 10, "t": 30, "b": 40}, title="autoencoder training",
                        xaxis_title="epoch", yaxis_title="mean squared error", yaxis_type="log",
                        legend={"orientation": "h", "y": -0.25})
    right.plotly_chart(curve, key="cz_curve")
    m = autoencoder.components_.shape[0]
    kept = f"epoch {autoencoder.epoch_} kept" if autoencoder.epoch_ else "no epoch beat PCA: PCA's code kept"
    right.caption(plain(f"{autoencoder.n_samples_:,} sampled spectra; a non-linear correction on top of PCA in the "
                        f"space of the {m} leading components ({m} → {autoencoder.hidden} → "
                        f"{autoencoder.n_components} → {autoencoder.hidden} → {m}, tanh), starting from PCA; "
                        f"{kept}; trained in {autoencoder.fit_seconds_:.1f} s."))


def error_maps(cube_id: str, cube: Cube, context: state.LinkContext, key: tuple, results: dict) -> None:
    """Per-pixel RMSE of each method, with one stretch for the three (0 to PCA's 98th
    percentile: a method doing worse saturates, one doing better is darker)."""
    reference = results["PCA"].pixel_rmse
    top = float(np.nanpercentile(reference, 98)) if np.isfinite(reference).any() else 1.0
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


def pinned(cube: Cube, autoencoder, pca) -> None:
    """Each pin's spectrum beside its three reconstructions."""
    pins = session.pins_in(cube)
    if not pins:
        st.info("Pin pixels (here or on any page) to see their spectra beside each reconstruction.")
        return
    bands = autoencoder.bands_
    spectra = np.array([cube.spectrum(r, c)[bands] for r, c in pins], dtype=np.float64)
    valid = np.isfinite(spectra).all(axis=1)
    fourier = fourier_codec(cube, autoencoder.n_components)
    rebuilt = {
        "PCA": (spectra - pca.mean_) @ pca.components_.T @ pca.components_ + pca.mean_,
        "autoencoder": autoencoder.decode(autoencoder.encode(np.nan_to_num(spectra))),
        "Fourier": fourier.decode(fourier.encode(np.nan_to_num(spectra))),
    }
    traces = []
    for i, (r, c) in enumerate(pins[:4]):
        if not valid[i]:
            continue
        full = np.full(cube.n_bands, np.nan)
        full[bands] = spectra[i]
        traces.append(Trace(f"({r}, {c})", full, colour="#333333"))
        for name, values in rebuilt.items():
            line = np.full(cube.n_bands, np.nan)
            line[bands] = values[i]
            traces.append(Trace(f"({r}, {c}) {name}", line, dash="dot", colour=COLOURS[name]))
    spectra_chart("cz_pins", traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=cube.quantity or "value", name_parts=(cube.name, "reconstructions"))


def downloads(cube: Cube, key: tuple, results: dict, autoencoder) -> None:
    """The codes as float GeoTIFF/ENVI, and the autoencoder's parameters."""
    with st.expander("Export the codes and the model"):
        method = st.radio("Codes of", list(results), horizontal=True, key="cz_export_method")
        k = autoencoder.n_components
        exporting.cube_panel(f"{method} codes", lambda: np.ascontiguousarray(np.moveaxis(results[method].codes, 2, 0)),
                             f"{cube.name} {method} k{k}", key="cz_export_codes",
                             nbytes=cube.rows * cube.cols * k * 4, geo=cube.geo,
                             metadata=export.image_metadata(cube, product=f"{method} codes, k = {k}"),
                             band_names=[f"{method} code {i + 1}" for i in range(k)])

        def parameters() -> bytes:
            buffer = io.BytesIO()
            np.savez(buffer, **autoencoder.parameters())
            return buffer.getvalue()

        st.download_button("Autoencoder parameters (.npz)", parameters, file_name=f"{export.safe_filename(cube.name)}"
                           f"_autoencoder_k{k}.npz", mime="application/octet-stream", key="cz_params",
                           on_click="ignore")
        st.caption("The .npz holds the bands used, the principal axes (mean, components, sigma) and the weights; "
                   "its 'formula' entry says how codes and reconstructions are computed from them.")


def standardized(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    """The cube standardized per band, exported with its parameters."""
    with st.expander("Standardized cube (per-band z-score or min-max)"):
        method = widgets.kept(st.radio, "cz_std", context, "Standardization", options=list(STANDARDIZATIONS),
                              index=0, horizontal=True)
        st.caption("Float values (negatives kept), the parameters written into the file: the GeoTIFF holds them as "
                   "GDAL's per-band scale and offset, the ENVI header as data gain and offset values, so ENVI, GDAL, "
                   "QGIS and Cubescope read the original values back.")

        def values() -> np.ndarray:
            return standardize(cube, method)[0]

        def parameters():
            return data.computed(cube_id, "Measuring every band…", standardization, method)

        exporting.cube_panel(f"{method} cube", values, f"{cube.name} {method}", key="cz_std_cube",
                             nbytes=cube.rows * cube.cols * cube.n_bands * 4, geo=cube.geo,
                             metadata={**export.image_metadata(cube, product=f"standardized ({method})"),
                                       **parameters().metadata()},
                             wavelengths=cube.wavelengths, wavelength_units=cube.wavelength_units,
                             gains=parameters().scale, offsets=parameters().offset)


page("The Compression page", lambda cube: f"Compression · {cube.name}", body)
