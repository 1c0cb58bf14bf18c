"""The ROI panel: the session's polygons and rectangles, their statistics, names and classes,
and their GeoJSON export and import."""

from __future__ import annotations

import streamlit as st

from cubescope import Cube, CubeError
from cubescope import roi as roi_module
from cubescope.words import number_text, plural
from cubescope_ui import data, session, streamed_uploads
from cubescope_ui.text import plain

#: Largest GeoJSON of ROIs taken, in MB: the most ROIs and corners an ROI list holds (32 x 20,000
#: corners) written out take about 25 MB.
MAX_GEOJSON_MB = 32


def panel(cube_id: str, cube: Cube, band: int) -> None:
    """A table of the ROIs (pixels, mean and std at the band), renaming and classes, removal,
    GeoJSON out and in."""
    areas = session.rois()
    if areas:
        rows = []
        for area in areas:
            stats = data.roi_stats(cube_id, roi_module.encode_rois([area]))
            rows.append({"ROI": area.name, "class": area.label, "colour": area.colour, "pixels": stats.count,
                         "mean at band": number_text(stats.mean[band]), "std at band": number_text(stats.std[band])})
        st.dataframe(rows, hide_index=True, width="stretch", key="roi_table",
                     column_config={"colour": st.column_config.TextColumn("colour", width="small")})
        with st.expander("Name, class or remove an ROI"):
            names = [a.name for a in areas]
            chosen = st.selectbox("ROI", names, key="roi_pick")
            index = names.index(chosen)
            left, right = st.columns(2)
            left.text_input("Name", value=areas[index].name, key=f"roi_name_{index}", max_chars=40)
            right.text_input("Class", value=areas[index].label, key=f"roi_label_{index}", max_chars=40)
            with st.container(horizontal=True):
                st.button("Apply", key="roi_apply", on_click=_rename, args=(index,))
                st.button("Remove", key="roi_remove", on_click=session.remove_roi, args=(index,))
                st.button("Remove all", key="roi_clear", on_click=session.remove_roi)
        unlinked = [a.name for a in areas if not session.in_link(a)]
        if unlinked:
            st.caption(plain(f"Not in the share link (too many corners for an address): {', '.join(unlinked)}. "
                             "Export them as GeoJSON to keep them."))
    else:
        st.caption("Draw polygon ROIs with the viewer's Polygon tool: click the corners, double-click to close.")
    # One above the other: side by side, a narrow panel cut the uploader's text.
    st.download_button("Export ROIs (GeoJSON)", lambda: roi_module.to_geojson(session.rois(), cube).encode(),
                       file_name=f"{cube.name}_rois.geojson", mime="application/geo+json", key="roi_export",
                       disabled=not areas, on_click="ignore", width="stretch",
                       help="Map coordinates (longitude/latitude) for a georeferenced cube, else pixel corners.")
    st.file_uploader("Import ROIs (GeoJSON)", type=["geojson", "json"], key="roi_import", on_change=_import,
                     args=(cube,), max_upload_size=MAX_GEOJSON_MB)
    if st.session_state.get("roi_error"):
        st.warning(plain(st.session_state["roi_error"]))


def _rename(index: int) -> None:
    session.rename_roi(index, st.session_state.get(f"roi_name_{index}") or "",
                       st.session_state.get(f"roi_label_{index}") or "")


def _import(cube: Cube) -> None:
    st.session_state.pop("roi_error", None)
    upload = st.session_state.get("roi_import")
    if upload is None:
        return
    try:
        imported = roi_module.from_geojson(streamed_uploads.read(upload), cube)
    except CubeError as exc:
        st.session_state["roi_error"] = str(exc)
        return
    session.add_rois(imported)


def add_from_mask(mask, label_key: str, note: str) -> None:
    """An ROI of exactly the pixels of ``mask`` (rows, cols), of the class typed in the text box
    ``label_key``: a button's ``on_click``. What was done is left as the session's note ``note``."""
    label = (st.session_state.get(label_key) or "").strip()
    try:
        name = session.add_mask_roi(mask, label)
    except CubeError as exc:
        session.keep_note(note, str(exc))
        return
    said = (f"{name} ({f'class {label}, ' if label else ''}{plural(int(mask.sum()), 'pixel')}) added: it is drawn "
            "on every page's image and listed in the Bands page's ROI panel.")
    if not session.in_link(session.rois()[-1]):
        said += (" Its outline has too many corners for the share link: export the ROIs as GeoJSON there to keep "
                 "it.")
    session.keep_note(note, said)
