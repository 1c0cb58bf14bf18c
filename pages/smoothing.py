"""Smoothing: Savitzky-Golay smoothing and derivatives, tuned live, on spectra and band images."""

import streamlit as st

from cubescope import Cube, CubeError, export, smoothing, state
from cubescope.plots import Trace
from cubescope.products import Band
from cubescope.wavelengths import band_label, step_backs, wavelength_order
from cubescope.words import plural
from cubescope_ui import data, exporting, session, widgets
from cubescope_ui.frame import page
from cubescope_ui.images import Export, show_image
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain

SETTINGS = {
    "sg_window": state.Setting("Savitzky-Golay window",
                               state.integer(3, lambda c: smoothing.longest_window(c.n_bands), odd=True),
                               lambda c: min(11, smoothing.longest_window(c.n_bands))),
    "sg_degree": state.Setting("Savitzky-Golay degree", state.integer(0, 10), lambda c: 3),
    "sg_deriv": state.Setting("derivative", state.choice(smoothing.DERIVATIVES), lambda c: "none"),
    "sg_exact": state.Setting("fit on true wavelengths", state.flag, lambda c: not c.uniform_spacing,
                              encode=state.flag_text),
}


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    units = cube.wavelength_units if cube.wavelengths is not None else None
    delta, uniform = smoothing.band_spacing(cube.wavelengths)

    usable = int(cube.good_bands.sum())
    if usable < 3:
        st.info(plain(f"Savitzky-Golay filtering needs at least three usable bands; this cube has "
                      f"{plural(usable, 'usable band')}. Open a cube with more bands, or use the Bands page."))
        return

    c1, c2, c3, c4 = st.columns([2, 1, 1, 2], vertical_alignment="bottom")
    longest = smoothing.longest_window(cube.n_bands)
    windows = list(range(3, longest + 1, 2))
    window = widgets.kept(c1.select_slider, "sg_window", context, "Window (bands)", options=windows,
                          value=min(11, longest), allowed=lambda w: w in windows)
    degree = widgets.kept(c2.number_input, "sg_degree", context, "Degree", min_value=0, max_value=10, value=3)
    deriv = smoothing.DERIVATIVES.index(widgets.kept(c3.selectbox, "sg_deriv", context, "Derivative",
                                                 options=smoothing.DERIVATIVES, index=0))
    exact = False
    if cube.wavelengths is not None:
        exact = widgets.kept(c4.toggle, "sg_exact", context, "Fit on true wavelengths", value=not uniform,
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
        return

    band = widgets.band_slider(cube, context, "band")
    stretch = widgets.stretch_controls(context, value_range=data.value_range(cube_id, Band(band)))
    unit_text = smoothing.derivative_unit(units, deriv)
    label = band_label(band, cube.wavelengths, units)
    product = ["smoothed", "1st derivative", "2nd derivative", "3rd derivative"][deriv]
    settings = f"SG w{window} p{degree}" + (f" d{deriv}" if deriv else "")

    raw_col, sg_col = st.columns(2, gap="medium")
    quantity = cube.quantity or ""
    with raw_col:
        st.markdown("**Raw**")
        show_image("image_raw", cube_id, cube, context, Band(band), label=label, quantity=quantity, stretch=stretch)
    with sg_col:
        st.markdown(f"**{product.capitalize()}** {plain(unit_text)}")
        show_image("image_sg", cube_id, cube, context,
                   smoothing.SavgolImage(band, window, degree, deriv, delta, exact), stretch=stretch,
                   label=f"{product} at {label}", quantity=unit_text if deriv else quantity,
                   colorbar=f"{product} {unit_text}".strip(),
                   export=Export((cube.name, settings, label), "export_sg", export.image_metadata(
                       cube, band, product=f"{product} {unit_text}".strip(), savitzky_golay=settings)))

    pins = session.pins()
    if pins:
        raw_traces, sg_traces = [], []
        for k, (r, c) in enumerate(pins):
            values = cube.spectrum(r, c)
            filtered = smoothing.savgol_spectrum(values, window, degree, deriv, delta,
                                                 wavelengths=cube.wavelengths if exact else None,
                                                 bad_bands=cube.bad_bands)
            raw_traces.append(Trace(f"({r}, {c}) raw", values, dash="dot", marker=k))
            sg_traces.append(Trace(f"({r}, {c}) {product}", filtered, marker=k))
        shown = [t for pair in zip(raw_traces, sg_traces, strict=True) for t in pair] if deriv == 0 else sg_traces
        spectra_chart("sg_spectra", shown, cube.wavelengths, units, cube.bad_bands,
                      y_title="value" if deriv == 0 else f"{product} {unit_text}", marks=[(band, "#555555")],
                      on_band=widgets.show_band("band"), name_parts=(cube.name, settings, "spectra"))
        st.caption("Click the chart to show the band there; drag across it to zoom, double-click to see every "
                   "band.")
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
            bad_bands=cube.bad_bands, fwhm=cube.fwhm, geo=cube.geo,
        )


page("The Smoothing page", lambda cube: f"Savitzky-Golay · {cube.name}", body)
