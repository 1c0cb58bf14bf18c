"""Smoothing: Savitzky-Golay smoothing and derivatives, tuned live, on spectra and band images."""

import streamlit as st

from cubescope import CubeError, display, export, smoothing
from cubescope.plots import Trace, colorbar_figure, spectra_figure
from cubescope.wavelengths import band_label, step_backs, wavelength_order
from cubescope.words import plural
from cubescope_ui import data, exporting, widgets
from cubescope_ui.guard import page_guard
from cubescope_ui.text import plain

with page_guard("The Smoothing page"):
    opened = data.current_cube()
    if opened is None:
        st.stop()
    cube_id, cube = opened
    units = cube.wavelength_units if cube.wavelengths is not None else None

    st.subheader(plain(f"Savitzky-Golay · {cube.name}"))
    delta, uniform = smoothing.band_spacing(cube.wavelengths)

    usable = int(cube.good_bands.sum())
    if usable < 3:
        st.info(plain(f"Savitzky-Golay filtering needs at least three usable bands; this cube has "
                      f"{plural(usable, 'usable band')}. Open a cube with more bands, or use the Bands page."))
        st.stop()

    c1, c2, c3, c4 = st.columns([2, 1, 1, 2], vertical_alignment="bottom")
    longest = max(3, min(cube.n_bands - (1 - cube.n_bands % 2), 101))
    window = c1.select_slider("Window (bands)", options=list(range(3, longest + 1, 2)), value=min(11, longest),
                              key="sg_window", bind="query-params")
    degree = c2.number_input("Degree", 0, 10, 3, key="sg_degree", bind="query-params")
    ORDERS = ["none", "1st", "2nd", "3rd"]
    deriv = ORDERS.index(c3.selectbox("Derivative", ORDERS, key="sg_deriv", bind="query-params"))
    exact = False
    if cube.wavelengths is not None:
        exact = c4.toggle("Fit on true wavelengths", value=not uniform, key="sg_exact", bind="query-params",
                          help="Fits each window on the bands' real wavelengths: exact derivatives where the "
                               "band spacing varies.")
        if not uniform and not exact:
            st.caption(plain(f"The band spacing varies; derivatives use the mean spacing ({delta:.4g} {units})."))
        if exact and step_backs(cube.wavelengths).size:
            st.caption(plain(f"The wavelengths {wavelength_order(cube.wavelengths, units)}. Each run of increasing "
                             "wavelengths is fitted on its own: a window never mixes two spectrometers."))

    try:
        smoothing.check_parameters(window, degree, deriv, usable)
    except CubeError as exc:
        st.warning(plain(exc))
        st.stop()

    band = widgets.band_slider(cube, "band")
    stretch = widgets.stretch_controls(value_range=data.band_range(cube_id, band))
    unit_text = smoothing.derivative_unit(units, deriv)
    label = band_label(band, cube.wavelengths, units)
    product = ["smoothed", "1st derivative", "2nd derivative", "3rd derivative"][deriv]

    raw_col, sg_col = st.columns(2, gap="medium")
    points = [(r, c, display.marker_index(k)) for r, c, k in widgets.overlay_points()]
    with raw_col:
        st.markdown("**Raw**")
        raw = data.band_view(cube_id, band, stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
        widgets.clickable_image(display.encode_indexed_png(display.draw_overlay(raw.index, raw.grid, points),
                                                           stretch.colormap), raw.grid, key="image_raw")
        st.plotly_chart(colorbar_figure(raw.lo, raw.hi, stretch.colormap, label), config={"displayModeBar": False},
                        key="colorbar_raw")
    with sg_col:
        st.markdown(f"**{product.capitalize()}** {plain(unit_text)}")
        view = data.savgol_view(cube_id, band, window, degree, deriv, delta, exact,
                                stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
        widgets.clickable_image(display.encode_indexed_png(display.draw_overlay(view.index, view.grid, points),
                                                           stretch.colormap), view.grid, key="image_sg")
        st.plotly_chart(colorbar_figure(view.lo, view.hi, stretch.colormap, f"{product} {unit_text}"),
                        config={"displayModeBar": False}, key="colorbar_sg")
        settings = f"SG w{window} p{degree}" + (f" d{deriv}" if deriv else "")
        exporting.image_panel(
            lambda: smoothing.savgol_band(cube, band, window, degree, deriv, delta, use_wavelengths=exact),
            stretch, (cube.name, settings, label),
            export.image_metadata(cube, band, product=f"{product} {unit_text}".strip(), savitzky_golay=settings),
            key="export_sg",
        )

    pins = widgets.pins()
    if pins:
        raw_traces, sg_traces = [], []
        for k, (r, c) in enumerate(pins):
            values = cube.spectrum(r, c)
            filtered = smoothing.savgol_spectrum(values, window, degree, deriv, delta,
                                                 wavelengths=cube.wavelengths if exact else None,
                                                 bad_bands=cube.bad_bands)
            raw_traces.append(Trace(f"({r}, {c}) raw", values, dash="dot", marker=k))
            sg_traces.append(Trace(f"({r}, {c}) {product}", filtered, marker=k))
        if deriv == 0:
            figure = spectra_figure([t for pair in zip(raw_traces, sg_traces, strict=True) for t in pair],
                                    cube.wavelengths, units, cube.bad_bands)
        else:
            figure = spectra_figure(sg_traces, cube.wavelengths, units, cube.bad_bands,
                                    y_title=f"{product} {unit_text}")
        st.plotly_chart(figure, key="sg_spectra")
        exporting.spectra_panel({t.name: t.values for t in raw_traces + sg_traces}, cube.wavelengths, units,
                                cube.bad_bands, (cube.name, settings, "spectra"), key="export_sg_spectra")
    else:
        st.info("Click either image to pin pixels (pins are shared with the Bands page) and compare raw and "
                "filtered spectra.")

    with st.expander("Export the whole filtered cube"):
        st.caption(plain(f"Every band filtered with {settings}, as 32-bit floats; built when you click."))
        exporting.cube_panel(
            "Filtered cube",
            lambda: smoothing.savgol_cube(cube, window, degree, deriv, delta, use_wavelengths=exact).bsq,
            f"{cube.name} {settings}", key="export_sg_cube",
            metadata=export.image_metadata(cube, savitzky_golay=settings),
            nbytes=cube.rows * cube.cols * cube.n_bands * cube.float_dtype.itemsize,
            wavelengths=cube.wavelengths, wavelength_units=units,
            bad_bands=cube.bad_bands,
        )
