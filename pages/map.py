"""Map: the cube where it lies on the Earth, over a basemap; click to pin, read lon/lat."""

import streamlit as st

from cubescope import Cube, CubeError, smoothing, state
from cubescope.geo import crs_name
from cubescope.pca import MAX_COMPONENTS, PCImage
from cubescope.plots import Trace
from cubescope.products import Band
from cubescope.wavelengths import band_label
from cubescope.words import plural
from cubescope_ui import data, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.layout import two_columns
from cubescope_ui.mapview import map_view
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain

LAYERS = ("Band", "RGB", "Savitzky-Golay", "PC image")
SETTINGS = {"map_show": state.Setting("map layer", state.choice(LAYERS), lambda c: "Band")}


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    if cube.geo is None:
        st.info(plain(f"'{cube.name}' carries no georeferencing, so it has no place on a map. Products such as "
                      "EMIT, PACE, PRISMA, EnMAP, DESIS, Tanager, NEON and AVIRIS, ENVI files with 'map info' and "
                      "GeoTIFFs are placed; open one of those."))
        return
    try:
        grid = data.mercator_grid(cube_id)
    except CubeError as exc:
        st.warning(plain(exc))
        return
    map_col, side_col = two_columns("map")
    with map_col:
        # Radio buttons, which wrap: four layers as a segmented control were cut off at 1024 px.
        shown = widgets.kept(st.radio, "map_show", context, "Show", options=list(LAYERS), index=0,
                             horizontal=True)
        layer = picked_layer(cube_id, cube, context, shown)
        if layer is None:
            return
        products, limits, colormap, channel_names, label = layer
        values, rgba = data.map_layer(cube_id, products, limits, colormap)
        opacity = st.slider("Opacity over the basemap", 0.2, 1.0, 1.0, 0.1, key="map_opacity")
        map_view("map", cube_id, cube, grid, values, rgba, image=f"{label}-{limits}-{colormap}",
                 channel_names=channel_names, quantity=cube.quantity or "" if shown in ("Band", "RGB") else "",
                 opacity=opacity)
        st.caption(plain(f"{label}. {cube.geo.describe()}. Click to pin the pixel under the pointer; drag to pan, "
                         "wheel or buttons to zoom. The basemap loads in your browser."))
    with side_col:
        pinned(cube)


def picked_layer(cube_id: str, cube: Cube, context: state.LinkContext, shown: str):
    """The products drawn, their stretch, colormap, channel names and a label, from the same
    controls as the Bands and PCA pages (and the same settings)."""
    if shown == "RGB":
        picks = []
        for column, key, name, default in zip(st.columns(3), ("rgb_r", "rgb_g", "rgb_b"), ("Red", "Green", "Blue"),
                                              cube.rgb_bands(), strict=True):
            with column:
                picks.append(widgets.band_slider(cube, context, key, name, default))
        products = tuple(Band(b) for b in picks)
        stretch = widgets.rgb_stretch_controls(context, "", tuple(data.value_range(cube_id, p) for p in products))
        limits = (stretch.ranges if stretch.method == "range" else
                  tuple(data.limits(cube_id, p, stretch.method, stretch.low, stretch.high, None, None)
                        for p in products))
        labels = [band_label(b, cube.wavelengths, cube.wavelength_units) for b in picks]
        return products, tuple(tuple(v) for v in limits), "gray", ("R", "G", "B"), "RGB " + " / ".join(labels)
    if shown == "Savitzky-Golay":
        window, degree = session.setting("sg_window", context), session.setting("sg_degree", context)
        deriv = smoothing.DERIVATIVES.index(session.setting("sg_deriv", context))
        exact = bool(session.setting("sg_exact", context)) and cube.wavelengths is not None
        try:
            smoothing.check_parameters(window, degree, deriv, int(cube.good_bands.sum()))
        except CubeError as exc:
            st.info(plain(f"{exc} Change the settings on the Smoothing page."))
            return None
        band = widgets.band_slider(cube, context, "band")
        delta, _ = smoothing.band_spacing(cube.wavelengths)
        product = smoothing.SavgolImage(band, window, degree, deriv, delta, exact)
        stretch = widgets.stretch_controls(context, value_range=data.value_range(cube_id, product))
        limits = data.limits(cube_id, product, stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
        name = ["smoothed", "1st derivative", "2nd derivative", "3rd derivative"][deriv]
        label = (f"{name} (window {window}, degree {degree}) at "
                 + band_label(band, cube.wavelengths, cube.wavelength_units))
        return (product,), (limits,), stretch.colormap, ("",), label
    if shown == "PC image":
        usable = context.usable_bands
        if usable < 2:
            st.info(plain(f"PC images need at least two usable bands; this cube has {plural(usable, 'usable band')}."))
            return None
        k = min(int(session.setting("pca_k", context)), MAX_COMPONENTS, usable)
        component = widgets.kept(st.selectbox, "pc", context, "Component", options=list(range(k)), index=0,
                                 format_func=lambda i: f"PC{i + 1}", allowed=lambda v: 0 <= v < k)
        product = PCImage(k, None, component)
        stretch = widgets.stretch_controls(context, "pca_", value_range=data.value_range(cube_id, product))
        limits = data.limits(cube_id, product, stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
        return (product,), (limits,), stretch.colormap, ("",), f"PC{component + 1} of {k} (fitted on the whole cube)"
    band = widgets.band_slider(cube, context, "band")
    product = Band(band)
    stretch = widgets.stretch_controls(context, value_range=data.value_range(cube_id, product))
    limits = data.limits(cube_id, product, stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
    return (product,), (limits,), stretch.colormap, ("",), band_label(band, cube.wavelengths, cube.wavelength_units)


def pinned(cube: Cube) -> None:
    """Where the pins are, and their spectra."""
    st.markdown("**Georeferencing:** " + plain(cube.geo.describe()))
    if cube.geo.kind == "grid":
        st.caption(plain(f"CRS: {crs_name(cube.crs)}; geotransform (GDAL order): "
                         + ", ".join(f"{v:.10g}" for v in cube.geotransform)))
    pins = session.pins_in(cube)
    if not pins:
        st.info("Click the map to pin a pixel: its spectrum shows here and on the other pages.")
        return
    rows, traces = [], []
    for k, (r, c) in enumerate(pins):
        lon, lat = cube.lonlat(r, c)
        rows.append({"pixel": f"({r}, {c})", "longitude": f"{lon:.6f}", "latitude": f"{lat:.6f}"})
        traces.append(Trace(f"({r}, {c})", cube.spectrum(r, c), marker=k))
    st.table(rows, border="horizontal", hide_index=True)
    spectra_chart("map_spectra", traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=cube.quantity or "value", name_parts=(cube.name, "spectra"))
    widgets.pin_controls(cube)


page("The Map page", lambda cube: f"{cube.name} on the map", body)
