"""PCA: how many components carry the signal, what each looks like, which wavelengths drive it."""

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, export, pca, state
from cubescope.mnf import MNFImage, mnf
from cubescope.pca import MAX_COMPONENTS
from cubescope.plots import loadings_figure, scree_figure
from cubescope.products import applied
from cubescope.words import plural
from cubescope_ui import data, exporting, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, show_image, show_rgb
from cubescope_ui.layout import two_columns
from cubescope_ui.text import plain

VIEWS = ("PC image", "RGB of PCs", "Reconstruction error", "MNF image")


def _components(text: str, context: state.LinkContext) -> list[int]:
    values = [state.integer(0, MAX_COMPONENTS - 1)(v, context) for v in text.split(",")[:MAX_COMPONENTS]]
    return sorted(set(values))


SETTINGS = {
    "pca_k": state.Setting("number of components",
                           state.integer(1, lambda c: max(1, min(MAX_COMPONENTS, c.usable_bands))),
                           lambda c: max(1, min(5, c.usable_bands))),
    "pca_region": state.Setting("fit on the region", state.flag, lambda c: False, encode=state.flag_text),
    "pca_view": state.Setting("PCA view", state.choice(VIEWS), lambda c: "PC image"),
    "pc": state.Setting("component", state.integer(1, MAX_COMPONENTS), lambda c: 1),
    **{f"pca_rgb_{name}": state.Setting(f"{name} component", state.integer(0, MAX_COMPONENTS - 1), lambda c, i=i: i)
       for i, name in enumerate(("red", "green", "blue"))},
    "pca_loadings": state.Setting("loadings shown", _components, lambda c: [0, 1, 2],
                                  encode=lambda v: ",".join(str(int(i)) for i in v)),
    **state.stretch_settings("pca_"),
}


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    usable = context.usable_bands
    if usable < 2:
        st.info(plain(f"PCA needs at least two usable bands; this cube has {plural(usable, 'usable band')}. "
                      "Open a cube with more bands, or use the Bands page."))
        return
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    most = min(MAX_COMPONENTS, usable)
    k = widgets.kept(left.slider, "pca_k", context, "Components", min_value=1, max_value=most,
                     value=min(5, usable), allowed=lambda v: 1 <= v <= most)
    region = session.region()
    on_region = widgets.kept(right.toggle, "pca_region", context, "Fit on the selected region", value=False,
                             disabled=region is None, help="Drag a rectangle on an image to select a region.")
    fit_region = region if (on_region and region) else None

    try:
        result = data.computed(cube_id, "Fitting the PCA…", pca.fit_on_region, k, fit_region)
    except CubeError as exc:
        st.warning(plain(exc))
        return

    st.caption(plain(
        f"Fitted on {result.n_samples_:,} pixels and {result.bands_.size} bands"
        + (" (bad bands left out)" if cube.bad_bands is not None else "")
        + f"; the {k} components explain {100 * result.cumulative_variance_ratio_[-1]:.2f}% of the variance."
    ))
    scree_col, loadings_col = two_columns("pca_plots", (1, 1))
    with scree_col:
        st.plotly_chart(scree_figure(result.all_variance_ratio_, k), key="scree")
    with loadings_col:
        shown = widgets.kept(st.multiselect, "pca_loadings", context, "Loadings of", options=list(range(k)),
                             default=list(range(min(3, k))), format_func=lambda i: f"PC{i + 1}",
                             allowed=lambda v: all(0 <= i < k for i in v))
        wavelengths = None if cube.wavelengths is None else cube.wavelengths[result.bands_]
        st.plotly_chart(loadings_figure(result.components_, wavelengths, cube.wavelength_units, shown),
                        key="loadings")

    if fit_region is not None:
        whole = data.computed(cube_id, "Measuring on the whole cube…", applied, result, "explained_variance_on")
        st.dataframe(
            [{"component": f"PC{i + 1}", "explained on the region (%)": 100 * result.explained_variance_ratio_[i],
              "explained on the whole cube (%)": 100 * whole[i]} for i in range(k)],
            hide_index=True, width="stretch",
        )
        st.caption("On data it was not fitted to, a component explains the variance of the projections on it over "
                   "that data's total variance: usually less, and not necessarily in order.")

    view = widgets.kept(st.segmented_control, "pca_view", context, "Show", options=list(VIEWS),
                        default="PC image")
    if view == "RGB of PCs" and k >= 3:
        picks = []
        for column, name, default in zip(st.columns(3), ("red", "green", "blue"), range(3), strict=True):
            picks.append(widgets.kept(column.selectbox, f"pca_rgb_{name}", context, name.capitalize(),
                                      options=list(range(k)), index=default, format_func=lambda j: f"PC{j + 1}",
                                      allowed=lambda j: 0 <= j < k))
        names = [f"PC{j + 1}" for j in picks]
        image_col, _ = two_columns("pca")
        with image_col:
            show_rgb("image_pca", cube_id, cube, context, tuple(pca.PCImage(k, fit_region, j) for j in picks),
                     prefix="pca_", label="RGB of " + " / ".join(names), channel_names=names,
                     export=Export((cube.name, "PCA RGB", *names), "export_pca_rgb", export.image_metadata(
                         cube, product="RGB of PC scores", components=names)))
    else:
        if view == "RGB of PCs":
            st.info("An RGB of PCs needs at least 3 components.")
        component = 0
        if k > 1 and view != "Reconstruction error":
            component = widgets.kept(st.slider, "pc", context, "Component", min_value=1, max_value=k, value=1,
                                     allowed=lambda v: 1 <= v <= k) - 1
        if view == "Reconstruction error":
            product, title = pca.ErrorImage(k, fit_region), f"RMS reconstruction error with {k} PCs"
        elif view == "MNF image":
            try:
                fitted = data.computed(cube_id, "Fitting the MNF…", mnf, k)
            except CubeError as exc:
                st.warning(plain(exc))
                return
            product, title = MNFImage(k, component), f"MNF{component + 1} (SNR {fitted.snr_[component]:.3g})"
            st.caption(plain("Minimum noise fraction: components ordered by signal-to-noise ratio, the noise estimated "
                             "from differences of horizontally neighbouring pixels (whole cube). SNR of the first "
                             f"{k}: " + ", ".join(f"{v:.3g}" for v in fitted.snr_) + "."))
        else:
            product, title = pca.PCImage(k, fit_region, component), f"PC{component + 1} score"
        image_col, _ = two_columns("pca")
        with image_col:
            show_image("image_pca", cube_id, cube, context, product, prefix="pca_", label=title,
                       quantity=cube.quantity or "" if isinstance(product, pca.ErrorImage) else "",
                       export=Export((cube.name, title), "export_pca", export.image_metadata(cube, product=title)))

    def scores() -> np.ndarray:
        return np.moveaxis(data.computed(cube_id, "Computing the PC images…", applied, result), 2, 0)

    with st.expander(f"Export all {k} PC images"):
        st.caption("Band-sequential scores, one band per component, as 32-bit floats; NaN where a pixel has no data.")
        exporting.cube_panel(f"{k} PC images", scores,
                             f"{cube.name} PCA {k}", key="export_pca_cube", nbytes=cube.rows * cube.cols * k * 4,
                             metadata=export.image_metadata(cube, product=f"{k} PC scores"), geo=cube.geo,
                             band_names=[f"PC {i + 1}" for i in range(k)])


page("The PCA page", lambda cube: f"Principal components · {cube.name}", body)
