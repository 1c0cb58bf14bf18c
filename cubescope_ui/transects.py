"""The transect drawn with the viewer's Line tool: its spectra as an image over the band's
profile, its CSV, and the line cleared."""

from __future__ import annotations

import streamlit as st

from cubescope import Cube, CubeError, export
from cubescope.plots import transect_figure
from cubescope.transect import transect, transect_csv
from cubescope.words import number_text
from cubescope_ui import data, session
from cubescope_ui.text import plain, warning


def panel(cube_id: str, cube: Cube, band: int) -> None:
    """The session's transect on ``cube`` at band ``band``; a hint to draw one when there is none."""
    ends = session.line()
    if ends is None:
        return
    try:
        line = data.computed(cube_id, "Reading the transect…", transect, ends[:2], ends[2:])
    except CubeError as exc:
        warning(exc)
        return
    st.markdown("**Transect**")
    st.caption(plain(f"From A ({ends[0]}, {ends[1]}) to B ({ends[2]}, {ends[3]}): {len(line.pixels)} pixels, "
                     f"{number_text(float(line.distance[-1]))} {line.unit}; the dotted line marks the band."))
    st.plotly_chart(transect_figure(line.distance, line.unit, line.spectra, cube.wavelengths, cube.wavelength_units,
                                    band, cube.bad_bands, quantity=cube.quantity or "value"),
                    key="transect", config={"displaylogo": False})
    left, right = st.columns(2)
    left.download_button("Download the transect (.csv)", lambda: transect_csv(line, cube), mime="text/csv",
                         file_name=export.safe_filename(cube.name, "transect") + ".csv", key="transect_csv",
                         width="stretch")
    right.button("Clear the line", key="transect_clear", on_click=session.set_line, args=(None,), width="stretch")
