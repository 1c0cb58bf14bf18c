"""Bands: look through band images or RGB composites, pin pixels, compare their spectra."""

import streamlit as st

from cubescope import Cube, export, state
from cubescope.products import Band
from cubescope.wavelengths import band_label
from cubescope.words import number_text
from cubescope_ui import badbands, exporting, rois, subsets, transects, widgets
from cubescope_ui.frame import page, rerun_if_switched, share_link
from cubescope_ui.guard import page_guard
from cubescope_ui.images import Export, show_image, show_rgb
from cubescope_ui.layout import two_columns
from cubescope_ui.marks import marked_spectra
from cubescope_ui.spectra_chart import spectra_chart
from cubescope_ui.text import plain
from cubescope_ui.viewer import band_image, prefetch_band, send_preview

RGB_MARKS = ("#d62728", "#2ca02c", "#1f77b4")
VIEWS = ("Band", "RGB")
SETTINGS = {"view": state.Setting("view", state.choice(VIEWS), lambda c: "Band")}


@st.fragment(key="explorer")
def explorer(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    """The image and the spectra: a change of view reruns only this part."""
    rerun_if_switched(cube_id)
    with page_guard("The Bands page"):
        image_col, spectra_col = two_columns("bands")
        spectra_box = spectra_col.container()
        with image_col:
            mode = widgets.kept(st.segmented_control, "view", context, "View",
                                options=list(VIEWS), default="Band")
            if mode == "RGB":
                picks = []
                for column, key, name, default in zip(st.columns(3), ("rgb_r", "rgb_g", "rgb_b"),
                                                      ("Red", "Green", "Blue"), cube.rgb_bands(), strict=True):
                    with column:
                        picks.append(widgets.band_slider(cube, context, key, name, default))
                labels = [band_label(b, cube.wavelengths, cube.wavelength_units) for b in picks]
                show_rgb("image", cube_id, cube, context, tuple(Band(b) for b in picks), channel_names=("R", "G", "B"),
                         label="RGB " + " / ".join(labels), quantity=cube.quantity or "",
                         export=Export((cube.name, "RGB", *labels), "export_rgb", export.image_metadata(
                             cube, product="RGB composite", bands=picks, band_labels=labels)))
                with spectra_box:
                    spectra(cube_id, cube, picks[1], list(zip(picks, RGB_MARKS, strict=True)), clickable=False)
                    widgets.pin_controls(cube)
                    badbands.panel(cube_id, cube)
                transects.panel(cube_id, cube, picks[1])
                subsets.panel(cube_id, cube)
                share_link(cube)
            else:
                band_view(cube_id, cube, context, spectra_box)
            st.caption("Click to pin a pixel, drag to select a region, draw a transect with the Line tool; zoom "
                       "with the wheel or the buttons, pan with Shift-drag.")


@st.fragment
def band_view(cube_id: str, cube: Cube, context: state.LinkContext, spectra_box) -> None:
    """The band slider, stretch, image, and the spectra marked at the band with the pin
    controls (written into the spectra column, ``spectra_box``): a band move, a click or a zoom
    reruns only this, the new image is sent first, and the rest of the page is not redrawn."""
    rerun_if_switched(cube_id)
    with page_guard("The Bands page"):
        band = widgets.band_slider(cube, context, "band")
        shown = band_image(cube, band, "gray")
        stretch, holder = show_image("image", cube_id, cube, context, Band(band), label=shown["label"],
                                     quantity=shown["quantity"], colorbar=shown["colorbar"],
                                     export=Export((cube.name, shown["label"]), "export_band",
                                                   export.image_metadata(cube, band, product="band")),
                                     follow=("band", band))
        with spectra_box:
            spectra(cube_id, cube, band, [(band, "#555555")], clickable=True)
            widgets.pin_controls(cube)
            badbands.panel(cube_id, cube)
        transects.panel(cube_id, cube, band)
        subsets.panel(cube_id, cube)
        share_link(cube)
        prefetch_band(holder, "image", cube_id, cube, band, stretch, control="band")
        send_preview(holder, "image", cube_id, cube, stretch, chart="spectra")


def spectra(cube_id: str, cube: Cube, band: int, marks: list, clickable: bool) -> None:
    """The pinned pixels' and the region's spectra, their values at the band, their export."""
    marked = marked_spectra(cube_id, cube)
    traces = [m.trace() for m in marked]
    exported = {}
    for m in marked:
        exported.update({m.name: m.values} if m.std is None else {f"{m.name} mean": m.values, f"{m.name} std": m.std})
    table, located = [], {}
    for m in marked:
        if m.kind == "pin":
            table.append({"pixel": m.label, "value at band": number_text(m.values[band])})
            if cube.geo is not None:
                located[m.name] = lon, lat = cube.lonlat(*m.pixel)
                table[-1].update({"longitude": f"{lon:.6f}", "latitude": f"{lat:.6f}"})
    if not traces:
        st.info("Click the image to plot a pixel's spectrum, drag to plot a region's mean, or draw a polygon ROI.")
    # Drawn even empty: a click paints its pixel's preview spectrum in it before the server answers.
    spectra_chart("spectra", traces, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                  y_title=cube.quantity or "value", marks=marks,
                  on_band=widgets.show_band("band") if clickable else None,
                  on_bad_bands=badbands.chart_marker(cube_id),
                  name_parts=(cube.name, "spectra"), n_bands=cube.n_bands,
                  band_viewer="image" if clickable else None)
    if not traces:
        rois.panel(cube_id, cube, band)
        return
    st.caption("Click the chart to show the band there; drag across it to zoom, double-click to see every "
               "band." if clickable else "Drag across the chart to zoom, double-click to see every band.")
    if table:
        st.caption(plain(f"Values at {band_label(band, cube.wavelengths, cube.wavelength_units)}"))
        st.table(table, border="horizontal", hide_index=True)
    exporting.spectra_panel(exported, cube.wavelengths, cube.wavelength_units, cube.bad_bands,
                            (cube.name, "spectra"), key="export_spectra", locations=located)
    rois.panel(cube_id, cube, band)


def body(cube_id: str, cube: Cube, context: state.LinkContext) -> None:
    st.caption(plain(cube.summary()))
    explorer(cube_id, cube, context)
    with st.expander("About this cube"):
        st.dataframe(
            [{"field": k, "value": str(v)} for k, v in {**cube.describe(), **cube.metadata}.items()],
            hide_index=True, width="stretch",
        )


page("The Bands page", lambda cube: cube.name, body, fragment=False)
