"""PCA: how many components carry the signal, what each looks like, which wavelengths drive it."""

import numpy as np
import streamlit as st

from cubescope import CubeError, display, export
from cubescope.plots import colorbar_figure, loadings_figure, scree_figure
from cubescope.words import plural
from cubescope_ui import data, exporting, widgets
from cubescope_ui.guard import page_guard
from cubescope_ui.text import plain

with page_guard("The PCA page"):
    opened = data.current_cube()
    if opened is None:
        st.stop()
    cube_id, cube = opened
    usable = int(cube.good_bands.sum())

    st.subheader(plain(f"Principal components · {cube.name}"))
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    if usable < 2:
        st.info(plain(f"PCA needs at least two usable bands; this cube has {plural(usable, 'usable band')}. "
                      "Open a cube with more bands, or use the Bands page."))
        st.stop()
    k = left.slider("Components", 1, min(20, usable), min(5, usable), key="pca_k", bind="query-params")
    region = st.session_state.get("region")
    on_region = right.toggle("Fit on the selected region", key="pca_region", bind="query-params",
                             disabled=not region, help="Drag a rectangle on a band image to select a region.")
    fit_region = tuple(region) if (on_region and region) else None

    try:
        result = data.pca_fit(cube_id, k, fit_region)
    except CubeError as exc:
        st.warning(plain(exc))
        st.stop()

    st.caption(plain(
        f"Fitted on {result.n_samples_:,} pixels and {result.bands_.size} bands"
        + (" (bad bands left out)" if cube.bad_bands is not None else "")
        + f"; the {k} components explain {100 * result.cumulative_variance_ratio_[-1]:.2f}% of the variance."
    ))
    scree_col, loadings_col = st.columns(2, gap="large")
    with scree_col:
        st.plotly_chart(scree_figure(result.all_variance_ratio_, k), key="scree")
    with loadings_col:
        shown = st.multiselect("Loadings of", list(range(k)), default=list(range(min(3, k))),
                               format_func=lambda i: f"PC{i + 1}", key="pca_loadings")
        wavelengths = None if cube.wavelengths is None else cube.wavelengths[result.bands_]
        st.plotly_chart(loadings_figure(result.components_, wavelengths, cube.wavelength_units, shown),
                        key="loadings")

    if fit_region is not None:
        whole = data.pca_on_whole_cube(cube_id, k, fit_region)
        st.dataframe(
            [{"component": f"PC{i + 1}", "explained on the region (%)": 100 * result.explained_variance_ratio_[i],
              "explained on the whole cube (%)": 100 * whole[i]} for i in range(k)],
            hide_index=True, width="stretch",
        )
        st.caption("On data it was not fitted to, a component explains the variance of the projections on it over "
                   "that data's total variance: usually less, and not necessarily in order.")

    view = st.segmented_control("Show", ["PC image", "RGB of PCs", "Reconstruction error"], default="PC image",
                                key="pca_view", bind="query-params")
    if view == "RGB of PCs" and k >= 3:
        a, b, c = st.columns(3)
        picks = tuple(col.selectbox(name, list(range(k)), index=i, format_func=lambda j: f"PC{j + 1}",
                                    key=f"pca_rgb_{name.lower()}")
                      for i, (col, name) in enumerate(zip((a, b, c), ("Red", "Green", "Blue"), strict=True)))
        stretch = widgets.stretch_controls(prefix="pca_", colormap=False)
        rgba, grid = data.pca_rgb(cube_id, k, fit_region, picks, stretch.method, stretch.low, stretch.high)
        widgets.clickable_image(display.encode_png(rgba), grid, key="image_pca")
    else:
        if view == "Reconstruction error":
            stretch = widgets.stretch_controls(prefix="pca_")
            shown_view = data.pca_error_view(cube_id, k, fit_region, stretch.method, stretch.low, stretch.high,
                                             stretch.vmin, stretch.vmax)
            title = f"RMS reconstruction error with {k} PCs"
        else:
            if view == "RGB of PCs":
                st.info("An RGB of PCs needs at least 3 components.")
            component = (st.slider("Component", 1, k, 1, key="pc", bind="query-params") - 1) if k > 1 else 0
            stretch = widgets.stretch_controls(prefix="pca_")
            shown_view = data.pca_view(cube_id, k, fit_region, component, stretch.method, stretch.low, stretch.high,
                                       stretch.vmin, stretch.vmax)
            title = f"PC{component + 1} score"
        image_col, _ = st.columns([3, 2])
        with image_col:
            widgets.clickable_image(display.encode_indexed_png(shown_view.index, stretch.colormap), shown_view.grid,
                                    key="image_pca")
            st.plotly_chart(colorbar_figure(shown_view.lo, shown_view.hi, stretch.colormap, title),
                            config={"displayModeBar": False}, key="colorbar_pca")
            if view == "Reconstruction error":
                def exported():
                    return data.pca_fit(cube_id, k, fit_region).reconstruction_error(cube)
            else:
                def exported():
                    return data.pca_scores(cube_id, k, fit_region)[:, :, component]
            exporting.image_panel(
                exported, stretch, (cube.name, title), export.image_metadata(cube, product=title), key="export_pca",
            )

    with st.expander(f"Export all {k} PC images"):
        st.caption("Band-sequential scores, one band per component, as 32-bit floats; NaN where a pixel has no data.")
        exporting.cube_panel(f"{k} PC images", lambda: np.moveaxis(data.pca_scores(cube_id, k, fit_region), 2, 0),
                             f"{cube.name} PCA {k}", key="export_pca_cube", nbytes=cube.rows * cube.cols * k * 4,
                             metadata=export.image_metadata(cube, product=f"{k} PC scores"))
