"""Bands: look through band images or RGB composites, pin pixels, compare their spectra."""

import streamlit as st

from cubescope import CubeError, display, export
from cubescope.plots import Trace, colorbar_figure, spectra_figure
from cubescope.wavelengths import band_label
from cubescope.words import number_text, ordinal
from cubescope_ui import data, exporting, widgets
from cubescope_ui.guard import page_guard
from cubescope_ui.text import plain

with page_guard("The Bands page"):
    opened = data.current_cube()
    if opened is None:
        st.stop()
    cube_id, cube = opened
    rows, cols, n_bands = cube.shape

    st.subheader(plain(cube.name))
    st.caption(plain(cube.summary()))

    image_col, spectra_col = st.columns([3, 2], gap="large")

    with image_col:
        mode = st.segmented_control("View", ["Band", "RGB"], default="Band", key="view", bind="query-params")
        if mode == "RGB":
            default_rgb = cube.rgb_bands()
            c1, c2, c3 = st.columns(3)
            with c1:
                red = widgets.band_slider(cube, "rgb_r", "Red", default_rgb[0])
            with c2:
                green = widgets.band_slider(cube, "rgb_g", "Green", default_rgb[1])
            with c3:
                blue = widgets.band_slider(cube, "rgb_b", "Blue", default_rgb[2])
            stretch = widgets.stretch_controls(colormap=False)
            rgba, grid = data.rgb_view(cube_id, (red, green, blue), stretch.method, stretch.low, stretch.high)
            points = [(r, c, display.marker_rgba(k)) for r, c, k in widgets.overlay_points()]
            shown = display.draw_overlay(rgba, grid, points, widgets.region_box(), display.marker_rgba(8))
            widgets.clickable_image(display.encode_png(shown), grid, key="image")
            band = green
        else:
            band = widgets.band_slider(cube, "band")
            stretch = widgets.stretch_controls(value_range=data.band_range(cube_id, band))
            view = data.band_view(cube_id, band, stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
            points = [(r, c, display.marker_index(k)) for r, c, k in widgets.overlay_points()]
            shown = display.draw_overlay(view.index, view.grid, points, widgets.region_box(), display.marker_index(8))
            widgets.clickable_image(display.encode_indexed_png(shown, stretch.colormap), view.grid, key="image")
            label = band_label(band, cube.wavelengths, cube.wavelength_units)
            st.plotly_chart(colorbar_figure(view.lo, view.hi, stretch.colormap, label),
                            config={"displayModeBar": False}, key="colorbar")
            grid = view.grid
            exporting.image_panel(
                lambda: cube.band(band), stretch, (cube.name, label),
                export.image_metadata(cube, band, product="band"),
                key="export_band",
            )
        zoom = f"every {ordinal(grid.step)} pixel shown" if grid.step > 1 else (
            f"enlarged {grid.zoom}×" if grid.zoom > 1 else "full resolution")
        st.caption(f"Click to pin a pixel, drag to select a region ({zoom}).")

    with spectra_col:
        traces = []
        table = []
        exported = {}
        for k, (r, c) in enumerate(widgets.pins()):
            values = cube.spectrum(r, c)
            traces.append(Trace(f"({r}, {c})", values, marker=k))
            exported[f"pixel ({r}, {c})"] = values
            table.append({"pixel": f"({r}, {c})", "row": r, "column": c, "value at band": number_text(values[band])})
        box = widgets.region_box()
        if box is not None:
            try:
                stats = data.region_stats(cube_id, box)
                traces.append(Trace(f"region mean ±1σ ({stats.count} px)", stats.mean, stats.std, marker=8))
                exported["region mean"], exported["region std"] = stats.mean, stats.std
            except CubeError as exc:
                st.warning(plain(exc))
        if traces:
            st.plotly_chart(
                spectra_figure(traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                               y_title=cube.quantity or "value"),
                key="spectra",
            )
            if table:
                st.caption(plain(f"Values at {band_label(band, cube.wavelengths, cube.wavelength_units)}"))
                st.dataframe(table, hide_index=True, width="stretch",
                             column_order=["pixel", "value at band"])
            exporting.spectra_panel(exported, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                                    (cube.name, "spectra"), key="export_spectra")
        else:
            st.info("Click the image to plot a pixel's spectrum, or drag to plot a region's mean.")
        widgets.pin_controls(cube)

    with st.expander("About this cube"):
        st.dataframe(
            [{"field": k, "value": str(v)} for k, v in {**cube.describe(), **cube.metadata}.items()],
            hide_index=True, width="stretch",
        )
