"""Page-level tests with Streamlit's AppTest (no browser: widgets, state, messages)."""

import json
import os

import numpy as np
import pytest
import streamlit as st
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from cubescope import Cube
from cubescope.demo import demo_cube
from cubescope_ui.viewer import unpack
from tests.apptest import (
    app_session,
    component_image,
    open_page,
    plotly_array,
    rerun_until,
    share_query,
    spectra_spec,
    viewer_bytes,
    viewer_overlays,
    viewer_payload,
)
from tests.writers import sample_cube, write_envi


@pytest.fixture
def app():
    return open_page()


def cube_of(at) -> str:
    """The session's cube id (an empty id box means the demo)."""
    return at.session_state["cube"] or "demo"


def test_opens_on_demo_cube(app):
    assert cube_of(app) == "demo"
    assert "demo scene" in [h.value for h in app.subheader]
    assert not app.error
    band = app.select_slider(key="band")
    # Not the middle band (1458 nm lies in a water-absorption band): the band nearest 650 nm.
    assert band.value == 15
    assert "648 nm" in band.format_func(15)


def test_the_next_band_is_sent_ahead_as_the_run_for_it_sends_it(app):
    """The Bands page sends the viewer the next band in the direction the slider last moved;
    the run for that band sends the viewer exactly those bytes (so the browser paints the step
    at once and need not decode again)."""
    def ahead(at):
        found = [e.proto.bytes for e in at.get("bidi_component") if e.proto.id.endswith("-image_prefetch")]
        return found[0] if found else None

    app.session_state["zoom"] = [20, 120, 40, 200]  # a zoomed window: the band sent ahead follows it
    app.select_slider(key="band").set_value(20).run()
    sent = ahead(app)
    header = unpack(sent)[0]
    assert header["follow"] == {"selector": ".st-key-band input[type='range']", "value": 21}
    assert header["window"] == [20, 120, 40, 200] and header["id"].startswith("band-21-")
    app.select_slider(key="band").set_value(21).run()
    assert viewer_bytes(app, "image") == sent
    app.select_slider(key="band").set_value(10).run()  # moving down: the band below is sent
    assert unpack(ahead(app))[0]["follow"]["value"] == 9
    app.select_slider(key="band").set_value(0).run()  # nothing below the first band: the one above
    assert unpack(ahead(app))[0]["follow"]["value"] == 1


def test_pinned_pixels_plot_spectra(app):
    app.session_state["pins"] = [[10, 20], [150, 100]]
    app.run()
    assert not app.exception
    table = app.table[0].value
    assert list(table["pixel"]) == ["(10, 20)", "(150, 100)"]
    from cubescope.demo import demo_cube

    expected = demo_cube().spectrum(150, 100)[15]
    assert float(table["value at band"].iloc[1]) == pytest.approx(expected, rel=1e-5)


def test_typed_pin_and_clear(app):
    app.number_input(key="pin_row_200x240").set_value(7)
    app.number_input(key="pin_col_200x240").set_value(9)
    app.button(key="pin_submit").click().run()
    assert app.session_state["pins"] == [[7, 9]]
    # Drawn in the same run: the viewer's overlay and the spectra already hold the typed pixel.
    pins = [o for o in viewer_overlays(app, "image") if o["kind"] == "pin"]
    assert [(o["row"], o["col"]) for o in pins] == [(7, 9)]
    assert "(7, 9)" in spectra_spec(app, "spectra")
    app.button(key="clear_pins").click().run()
    assert app.session_state["pins"] == []


def test_region_statistics_shown(app):
    app.session_state["region"] = [10, 30, 10, 40]
    app.run()
    assert not app.exception and not app.warning


def test_moving_band_changes_colourbar_label(app):
    before = viewer_payload(app, "image")[0]["colorbar"]["title"]
    app.select_slider(key="band").set_value(10).run()
    assert not app.exception
    after = viewer_payload(app, "image")[0]["colorbar"]["title"]
    assert "band 10" in after and "band 10" not in before


def test_rgb_mode(app):
    app.segmented_control(key="view").set_value("RGB").run()
    assert not app.exception
    assert app.select_slider(key="rgb_r").value == app.session_state["rgb_r"]


def test_upload_envi_pair_opens_it(app, tmp_path):
    data = sample_cube(rows=30, cols=20, bands=8, dtype="u2")
    header, raw = write_envi(tmp_path, data, extra="wavelength = {400,450,500,550,600,650,700,750}\n")
    app.file_uploader(key="upload").set_value(
        [
            (header.name, header.read_bytes(), "application/octet-stream"),
            (raw.name, raw.read_bytes(), "application/octet-stream"),
        ]
    ).run()
    assert not app.exception
    assert len(cube_of(app)) == 32
    assert "scene" in [h.value for h in app.subheader]
    app.session_state["pins"] = [[3, 4]]
    app.run()
    value = app.table[0].value["value at band"].iloc[0]
    assert float(value) == data[3, 4, 5]  # the band nearest 650 nm


def test_broken_upload_shows_message_not_traceback(app, tmp_path):
    header, raw = write_envi(tmp_path, sample_cube())
    header.write_text(header.read_text().replace("lines = 7", "lines = 9"))
    app.file_uploader(key="upload").set_value(
        [
            (header.name, header.read_bytes(), "text/plain"),
            (raw.name, raw.read_bytes(), "application/octet-stream"),
        ]
    ).run()
    assert not app.exception
    assert any("holds only" in e.value for e in app.error)
    assert cube_of(app) == "demo"


@pytest.mark.parametrize(
    "name, payload",
    [
        ("image.npy", None),
        ("evil.npy", "pickle"),
        ("notes.txt", "text"),
    ],
)
def test_bad_files_are_messages(app, tmp_path, name, payload):
    path = tmp_path / name
    if payload is None:
        np.save(path, np.zeros((5, 5), np.float32))
    elif payload == "pickle":
        np.save(path, np.array([{}], dtype=object), allow_pickle=True)
    else:
        path.write_text("not a cube")
    app.file_uploader(key="upload").set_value((name, path.read_bytes(), "application/octet-stream")).run()
    assert not app.exception
    assert app.error


def test_container_with_several_cubes_asks_which(app, tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=sample_cube(seed=1), b=sample_cube(rows=9, seed=2))
    app.file_uploader(key="upload").set_value(("two.npz", path.read_bytes(), "application/octet-stream")).run()
    assert cube_of(app) == "demo"
    chooser = app.selectbox(key="upload_dataset_choice")
    assert chooser.options == ["a", "b"]
    # Choosing re-reads the files from the uploader, whose files AppTest does not send again
    # on later runs; tests/test_store.py::test_container_choice covers the load itself.


def test_unknown_cube_id_in_url_offers_demo():
    st.cache_resource.clear()
    at = app_session(60)
    at.query_params["cube"] = "0123456789abcdef0123456789abcdef"
    at.run()
    assert not at.exception
    assert any("not on the server" in e.value for e in at.error)
    at.button(key="fallback_demo").click().run()
    assert cube_of(at) == "demo" and not at.error


def test_hostile_cube_id_in_url():
    at = app_session(60)
    at.query_params["cube"] = "../../etc/passwd"
    at.run()
    assert not at.exception and at.error


# ----------------------------------------------------------------------------- Smoothing page
def smoothing_page(query: dict | None = None) -> AppTest:
    return open_page("pages/smoothing.py", query=query)














def test_smoothing_window_changes_spectrum_and_image():
    at = smoothing_page()
    at.session_state["pins"] = [[30, 50]]
    at.run()
    image_before, spectra_before = component_image(at, "image_sg"), spectra_spec(at, "sg_spectra")
    raw_before = component_image(at, "image_raw")
    at.select_slider(key="sg_window").set_value(31).run()
    assert not at.exception
    assert spectra_spec(at, "sg_spectra") != spectra_before
    assert (component_image(at, "image_sg") != image_before).mean() > 0.05
    np.testing.assert_array_equal(component_image(at, "image_raw"), raw_before)


def test_smoothing_derivative_from_url():
    at = smoothing_page({"sg_deriv": "2nd", "sg_window": "15"})
    assert at.selectbox(key="sg_deriv").value == "2nd"
    assert at.select_slider(key="sg_window").value == 15
    assert "per nm²" in " ".join(m.value for m in at.markdown)


def test_invalid_smoothing_setting_shows_message():
    at = smoothing_page()
    at.number_input(key="sg_degree").set_value(10).run()  # window 11 > 10 is fine; make it invalid:
    at.select_slider(key="sg_window").set_value(9).run()
    assert not at.exception
    assert any("larger than the polynomial degree" in w.value for w in at.warning)


# ----------------------------------------------------------------------------- PCA page


def test_pca_page_scree_loadings_images():
    at = open_page("pages/pca.py", query={"pca_k": "4"})
    assert at.slider(key="pca_k").value == 4
    assert "the 4 components explain" in at.caption[0].value
    scree = spectra_spec(at, "scree")
    assert "cumulative" in scree and "95%" in scree and "99%" in scree
    pc1 = component_image(at, "image_pca")
    at.slider(key="pc").set_value(2).run()
    assert not at.exception
    assert (component_image(at, "image_pca") != pc1).mean() > 0.1
    at.segmented_control(key="pca_view").set_value("Reconstruction error").run()
    assert not at.exception and "reconstruction error" in viewer_payload(at, "image_pca")[0]["colorbar"]["title"]
    at.segmented_control(key="pca_view").set_value("RGB of PCs").run()
    assert not at.exception and component_image(at, "image_pca").shape[-1] == 4


def test_pca_fit_on_region_compares_with_whole_cube():
    at = open_page("pages/pca.py")
    at.session_state["region"] = [0, 60, 0, 80]
    at.run()
    at.toggle(key="pca_region").set_value(True).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["component", "explained on the region (%)", "explained on the whole cube (%)"]
    assert "Fitted on 4,800 pixels" in at.caption[0].value


# ----------------------------------------------------------------------------- share links
def test_share_link_reopens_upload_band_and_pins_in_another_session(tmp_path):
    st.cache_resource.clear()
    st.cache_data.clear()
    first = app_session(60)
    first.run()
    data = sample_cube(rows=40, cols=30, bands=9, dtype="f4")
    np.save(tmp_path / "lab scan.npy", data)
    first.file_uploader(key="upload").set_value(
        ("lab scan.npy", (tmp_path / "lab scan.npy").read_bytes(), "application/octet-stream")
    ).run()
    first.select_slider(key="band").set_value(6).run()
    first.session_state["pins"] = [[3, 4], [30, 20]]
    first.session_state["region"] = [5, 15, 5, 25]
    first.run()
    assert not first.exception
    link = share_query(first)
    assert set(link) == {"cube", "px", "roi", "band"} and len(link["cube"]) == 32

    second = app_session(60)  # another browser: a new session
    for key, value in link.items():
        second.query_params[key] = value
    second.run()
    assert not second.exception and not second.warning
    assert second.session_state["pins"] == [[3, 4], [30, 20]]
    assert second.session_state["region"] == [5, 15, 5, 25]
    assert second.select_slider(key="band").value == 6
    np.testing.assert_array_equal(component_image(second, "image"), component_image(first, "image"))
    assert second.dataframe[0].value.equals(first.dataframe[0].value)
    assert spectra_spec(second, "spectra") == spectra_spec(first, "spectra")


@pytest.mark.parametrize(
    "query",
    [
        {"band": "band 9999 · 1 nm", "px": "<script>alert(1)</script>", "roi": "x"},
        {"cube": "demo", "px": "1-2," * 500, "sg_window": "-3", "pct": "abc"},
        {"cube": "<img src=x onerror=alert(1)>", "stretch": "nonsense", "cmap": "../../etc"},
        {"px": "100000-5", "roi": "0-99999999-0-5", "view": "RGB", "rgb_r": "999"},
    ],
)
def test_hostile_query_strings_give_defaults_and_messages(query):
    st.cache_resource.clear()
    at = app_session(60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    pins = at.session_state["pins"] if "pins" in at.session_state else []
    assert all(len(p) == 2 and p[0] < 200 and p[1] < 240 for p in pins)
    texts = " ".join(e.value for e in at.error) + " ".join(w.value for w in at.warning)
    assert "<script>" not in texts and "<img" not in texts  # shown, if at all, escaped as text


def test_server_sources_hidden_unless_configured(app):
    # Opening from the data folder and refusing a URL are tested in the browser
    # (tests/e2e/test_server_sources.py): AppTest does not keep a choice made in the sidebar's
    # expander from one run to the next here.
    assert not [b for b in app.button if b.key in ("open_server_file", "open_url")]


def test_whole_product_larger_than_the_download_limit_is_explained(monkeypatch):
    monkeypatch.setenv("CUBESCOPE_MAX_DOWNLOAD_BYTES", "1000000")  # the demo's filtered cube is 24.6 MB
    at = smoothing_page()
    assert any("more than this server offers as one download" in i.value for i in at.info)
    monkeypatch.setenv("CUBESCOPE_MAX_DOWNLOAD_BYTES", str(2**30))
    at.run()
    assert not any("more than this server offers" in i.value for i in at.info)


def test_missing_value_reads_no_data_in_the_table(tmp_path):
    st.cache_resource.clear()
    data = sample_cube(rows=6, cols=5, bands=4, dtype="f4")
    data[2, 3, :] = np.nan
    np.save(tmp_path / "gappy.npy", data)
    at = app_session(60)
    at.run()
    at.file_uploader(key="upload").set_value(
        ("gappy.npy", (tmp_path / "gappy.npy").read_bytes(), "application/octet-stream")
    ).run()
    at.session_state["pins"] = [[2, 3], [0, 0]]
    at.run()
    assert not at.exception
    assert at.table[0].value["value at band"].iloc[0] == "no data"


def test_several_envi_headers_ask_which(app, tmp_path):
    files = []
    for name, seed in (("dark", 1), ("white", 2)):
        header, raw = write_envi(tmp_path, sample_cube(seed=seed), name=name)
        files += [(header.name, header.read_bytes(), "text/plain"), (raw.name, raw.read_bytes(), "application/x")]
    app.file_uploader(key="upload").set_value(files).run()
    assert not app.exception and not app.error
    assert app.selectbox(key="upload_dataset_choice").options == ["dark.hdr", "white.hdr"]


def test_upload_is_released_and_band_axis_changed_from_the_store(tmp_path):
    st.cache_resource.clear()
    st.cache_data.clear()
    data = np.random.default_rng(3).random((40, 30, 24)).astype("f4")  # read with bands on axis 2
    np.save(tmp_path / "scan.npy", data)
    at = app_session(60)
    at.run()
    at.file_uploader(key="upload").set_value(
        ("scan.npy", (tmp_path / "scan.npy").read_bytes(), "application/octet-stream")
    ).run()
    assert not at.exception and not at.error
    # Stored: the uploader that held the bytes is gone, a new empty one stands in its place.
    assert not [u for u in at.get("file_uploader") if u.proto.id.endswith("-upload")]
    assert "upload_1" in at.session_state
    at.selectbox(key="band_axis_choice").set_value(0).run()
    assert not at.exception and not at.error
    assert any(c.value.startswith("30 rows × 24 columns × 40 bands") for c in at.caption)
    at.session_state["pins"] = [[5, 7]]
    at.run()
    band = at.select_slider(key="band").value
    assert float(at.table[0].value["value at band"].iloc[0]) == pytest.approx(data[band, 5, 7])


def test_a_cube_damaged_on_disk_is_a_message_and_never_shown(tmp_path):
    import os

    from cubescope.store import CubeStore

    st.cache_resource.clear()
    st.cache_data.clear()
    store = CubeStore(os.environ["CUBESCOPE_STORE"])
    cube_id = store.put(Cube.from_array(sample_cube(rows=30, cols=20, bands=8)), "f" * 32)
    at = app_session(60)
    at.session_state["cube"] = cube_id
    at.run()
    assert not at.exception and not at.warning
    # As a user who has looked at the cube: the viewer's preview (which reads every band in the
    # background) is done, and the damage comes after.
    rerun_until(at, lambda at: any(e.proto.id.endswith("-image_preview") for e in at.get("bidi_component")),
                "the preview")
    data = store.root / "objects" / cube_id / "data.npy"
    raw = bytearray(data.read_bytes())
    raw[-5] ^= 0xFF  # the last band
    data.write_bytes(bytes(raw))
    at.select_slider(key="band").set_value(7).run()
    assert not at.exception and not at.error
    assert any("changed or damaged on disk" in w.value for w in at.warning)
    at.run()
    # Removed, and said why again when the page asks for it (the demo is offered instead).
    assert any("changed or damaged on disk" in e.value for e in at.error)


# ----------------------------------------------------------------------------- whole-analysis links
def test_unusable_link_values_are_named_on_the_page():
    st.cache_resource.clear()
    at = app_session(90)
    for key, value in {
        "band": "9999",
        "cmap": "evil",
        "sg_window": "4",
        "pca_k": "500",
        "vmin": "nan",
        "stretch": "range",
    }.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    texts = " ".join(w.value for w in at.warning).replace("\\", "")
    for named in ("band '9999'", "colormap 'evil'", "window '4'", "components '500'", "low value 'nan'"):
        assert named in texts
    link = share_query(at)
    assert not {"band", "cmap", "sg_window", "pca_k"} & set(link)  # the link keeps none of them...
    assert np.isfinite(float(link["vmin"]))  # ...and the low value it keeps is the one shown instead
    assert at.select_slider(key="band").value == demo_cube().default_band()


def test_link_made_on_one_page_carries_the_settings_of_the_others():
    at = open_page("pages/pca.py")
    at.slider(key="pca_k").set_value(7).run()
    at.segmented_control(key="pca_view").set_value("Reconstruction error").run()
    at.switch_page("pages/smoothing.py").run()
    at.select_slider(key="sg_window").set_value(21).run()
    at.switch_page("app.py").run()
    at.session_state["pins"] = [[10, 20]]
    at.run()
    link = share_query(at)
    assert {"pca_k": "7", "pca_view": "Reconstruction error", "sg_window": "21", "px": "10-20"}.items() <= link.items()

    st.cache_resource.clear()
    fresh = app_session(90)  # another browser opens the link on Smoothing
    for key, value in link.items():
        fresh.query_params[key] = value
    fresh.run()
    fresh.switch_page("pages/smoothing.py").run()
    assert fresh.select_slider(key="sg_window").value == 21
    fresh.switch_page("pages/pca.py").run()  # then moves on to PCA: the settings made there are back
    assert not fresh.exception
    assert fresh.slider(key="pca_k").value == 7
    assert fresh.segmented_control(key="pca_view").value == "Reconstruction error"
    assert viewer_payload(fresh, "image_pca")[0]["label"] == "RMS reconstruction error with 7 PCs"


def _upload_scan(at, tmp_path) -> None:
    """Upload a small .npy cube named scan through the sidebar's uploader."""
    np.save(tmp_path / "scan.npy", sample_cube(rows=12, cols=10, bands=5, dtype="f4"))
    at.file_uploader(key="upload").set_value(
        ("scan.npy", (tmp_path / "scan.npy").read_bytes(), "application/octet-stream")
    ).run()


def test_cube_id_in_a_link_is_read_in_any_letter_case(tmp_path):
    st.cache_resource.clear()
    first = app_session(60).run()
    _upload_scan(first, tmp_path)
    cube_id = share_query(first)["cube"]
    second = app_session(60)
    second.query_params["cube"] = cube_id.upper()
    second.run()
    assert not second.exception and not second.error
    assert second.session_state["cube"] == cube_id
    assert "scan" in second.subheader[0].value


def test_a_late_report_from_the_browser_keeps_the_uploaded_cube(tmp_path):
    """A rerun the browser asks for before it has drawn the upload's run (a click on the
    previous image, a component's report) carries the widget values it still shows: they must
    not reopen the previous cube (seen in a browser test: the new cube's title over the
    previous cube's link)."""
    st.cache_resource.clear()
    at = app_session(60).run()
    # What a browser reports: every widget's value, and no button (a button is only reported
    # when clicked; AppTest reports all of them as not clicked).
    shown_before = WidgetStates(widgets=[w for w in at._tree.get_widget_states().widgets
                                         if w.WhichOneof("value") != "trigger_value"])
    _upload_scan(at, tmp_path)
    cube_id = share_query(at)["cube"]
    at._run(shown_before)
    assert not at.exception and not at.error
    assert at.session_state["cube"] == cube_id and share_query(at)["cube"] == cube_id
    assert "scan" in at.subheader[0].value
    assert at.text_input(key=f"cube_box_{cube_id}").value == cube_id


def test_a_cube_opened_from_a_link_stays_open_on_the_next_runs(tmp_path):
    """The session's cube is not the id box's value: the box once dropped a linked cube on the
    run after the first, and the page fell back to the demo cube."""
    st.cache_resource.clear()
    first = app_session(60).run()
    _upload_scan(first, tmp_path)
    cube_id = share_query(first)["cube"]
    at = app_session(60)
    at.query_params["cube"] = cube_id
    at.run()
    at.run()
    at.select_slider(key="band").set_value(3).run()
    assert not at.exception and at.session_state["cube"] == cube_id and "scan" in at.subheader[0].value


def test_a_cube_id_typed_in_the_box_opens_that_cube(tmp_path):
    st.cache_resource.clear()
    at = app_session(60).run()
    _upload_scan(at, tmp_path)
    cube_id = share_query(at)["cube"]
    at.text_input(key=f"cube_box_{cube_id}").set_value("demo").run()
    assert at.session_state["cube"] == "demo" and "cube" not in share_query(at)
    at.text_input(key="cube_box_demo").set_value(cube_id.upper()).run()
    assert not at.exception and at.session_state["cube"] == cube_id and "scan" in at.subheader[0].value


def map_payload(at, key: str = "map") -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Header, RGBA, values and cell -> pixel index the Map page sends to its map ``key``."""
    for element in at.get("bidi_component"):
        if element.proto.id.endswith(f"-{key}"):
            payload = element.proto.bytes
            length = int(np.frombuffer(payload[:4], "<u4")[0])
            header = json.loads(payload[4:4 + length])
            cells = header["w"] * header["h"]
            start = 4 + length
            rgba = np.frombuffer(payload[start:start + 4 * cells], np.uint8).reshape(header["h"], header["w"], 4)
            start += 4 * cells
            values = np.frombuffer(payload[start:start + 4 * cells * header["channels"]], "<f4")
            start += 4 * cells * header["channels"]
            index = np.frombuffer(payload[start:start + 4 * cells], "<i4").reshape(header["h"], header["w"])
            return header, rgba, values.reshape(header["channels"], header["h"], header["w"]), index
    raise AssertionError(f"no map {key!r}")


def test_the_region_and_the_good_bands_open_as_a_new_cube_with_its_own_link():
    from cubescope import state

    wavelengths = np.arange(10) * 50 + 400.0
    bad = np.zeros(10, bool)
    bad[[0, 7]] = True
    array = sample_cube(rows=40, cols=30, bands=10, dtype="f4")
    parent = Cube.from_array(array, wavelengths, wavelength_units="nm", bad_bands=bad, name="scan")
    at = open_page(cube=parent, query={"roi": state.encode_region((5, 25, 10, 20))})
    parent_id = at.session_state["cube"]
    window = at.radio(key="subset_window")
    assert window.options == ["The whole image", "The region: rows 5-25, columns 10-20"]
    assert window.value == window.options[-1] and at.toggle(key="subset_good").value
    at.button(key="subset_open").click().run()
    assert not at.exception and not at.error
    new_id = at.session_state["cube"]
    assert new_id != parent_id and share_query(at)["cube"] == new_id
    assert at.subheader[0].value == "scan subset"
    about = dict(zip(at.dataframe[0].value["field"], at.dataframe[0].value["value"], strict=True))
    assert about["subset of cube id"] == parent_id and about["subset rows"] == "5-25"
    opened = app_session(60)
    opened.query_params["cube"] = new_id
    opened.run()
    assert not opened.exception and opened.subheader[0].value == "scan subset"
    assert share_query(opened)["cube"] == new_id
    band = opened.select_slider(key="band").value
    _, values, _ = viewer_payload(opened, "image")
    np.testing.assert_array_equal(values.reshape(20, 10), array[5:25, 10:20][:, :, ~bad][:, :, band])


def _bad_ranges(at):
    return next(t for t in at.text_input if t.key.startswith("bad_ranges"))


def _finite_loadings(at) -> int:
    return int(np.isfinite(plotly_array(json.loads(spectra_spec(at, "loadings"))["data"][0]["y"])).sum())


def test_bad_bands_typed_as_ranges_go_into_the_link_and_every_page():
    at = open_page(query={"px": "50-60"})
    assert _bad_ranges(at).value == "" and "bad" not in share_query(at)
    _bad_ranges(at).set_value("1340-1445, 1790-1955 nm").run()
    assert not at.exception and not at.error
    wavelengths = demo_cube().wavelengths
    expected = np.flatnonzero(((wavelengths >= 1340) & (wavelengths <= 1445))
                              | ((wavelengths >= 1790) & (wavelengths <= 1955))).tolist()
    assert share_query(at)["bad"] == "57-63,85-94" and json.loads(spectra_spec(at, "spectra"))["bad"] == expected
    assert _bad_ranges(at).value == "1342.52-1441.73, 1805.51-1954.33 nm"
    assert any(e.label == "Bad bands: 17 of 128 (edited)" for e in at.expander)
    about = dict(zip(at.dataframe[0].value["field"], at.dataframe[0].value["value"], strict=True))
    assert about["bad bands"] == "17"
    at.switch_page("pages/pca.py").run()
    assert not at.exception and _finite_loadings(at) == 128 - 17 and share_query(at)["bad"] == "57-63,85-94"
    # The link opens the same list in another browser; the file's list comes back with one click.
    other = open_page("pages/pca.py", query={"bad": "57-63,85-94"})
    assert _finite_loadings(other) == 128 - 17
    other.switch_page("pages/bands.py").run()
    other.button(key="bad_restore").click().run()
    assert "bad" not in share_query(other) and _bad_ranges(other).value == ""
    other.switch_page("pages/pca.py").run()
    assert _finite_loadings(other) == 128


@pytest.mark.parametrize(("typed", "why"), [
    ("1340-1445 furlongs", "not a unit"),
    ("b0-b127", "every band bad"),
    ("5000 nm", "outside this cube's bands"),
])
def test_an_unreadable_bad_band_list_is_a_message_and_changes_nothing(typed, why):
    at = open_page()
    _bad_ranges(at).set_value(typed).run()
    assert not at.exception and any(why in e.value for e in at.error)
    assert "bad" not in share_query(at) and _bad_ranges(at).value == typed  # kept to be corrected


def test_a_link_s_bad_band_list_that_does_not_fit_the_cube_is_named():
    at = open_page(query={"bad": "120-300"})
    assert not at.exception and "bad" not in share_query(at)
    assert any("bands 0 to 127); the file's list is used" in w.value.replace("\\", "") for w in at.warning)


def test_a_transect_in_the_link_shows_its_spectra_profile_ends_and_csv():
    import csv
    import io

    at = open_page(query={"line": "20-30-120-200", "band": "40"})
    assert not at.exception and not at.warning
    assert share_query(at)["line"] == "20-30-120-200"
    figure = json.loads(spectra_spec(at, "transect"))
    heatmap, profile = figure["data"]
    assert heatmap["type"] == "heatmap" and profile["type"] == "scatter"
    cube = demo_cube()
    names = [t["name"] for t in json.loads(spectra_spec(at, "spectra"))["traces"]]
    assert names == ["A (20, 30)", "B (120, 200)"]
    csv_button = next(b for b in at.get("download_button") if b.proto.id.endswith("-transect_csv"))
    assert csv_button.proto.label == "Download the transect (.csv)"
    from cubescope.transect import transect, transect_csv

    rows = list(csv.reader(io.StringIO(transect_csv(transect(cube, (20, 30), (120, 200)), cube).decode())))
    assert rows[1][:2] == ["20", "30"] and rows[-1][:2] == ["120", "200"] and rows[0][2] == "distance (m)"
    overlays = viewer_overlays(at, "image")
    assert {"kind": "line", "ends": [[20, 30], [120, 200]], "colour": "#111111"} in overlays
    at.button(key="transect_clear").click().run()
    assert "line" not in share_query(at) and not any(o["kind"] == "line" for o in viewer_overlays(at, "image"))


@pytest.mark.parametrize("line", ["20-30-500-200", "20-30-20-30", "a-b"])
def test_a_link_s_transect_that_is_not_a_line_of_the_image_is_named(line):
    at = open_page(query={"line": line})
    assert not at.exception and "line" not in share_query(at)
    assert any("transect" in w.value for w in at.warning)


def test_map_page_places_the_band_and_the_pins_of_a_georeferenced_cube():
    from cubescope.geo import Georef
    from cubescope.mapping import from_mercator
    from cubescope.store import CubeStore

    demo = demo_cube()
    geo = Georef(demo.rows, demo.cols, crs="EPSG:32633", geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0))
    cube = Cube(demo.bsq, name="placed", wavelengths=demo.wavelengths, geo=geo)
    cube_id = "c" * 32
    CubeStore(os.environ["CUBESCOPE_STORE"]).put(cube, cube_id)
    st.cache_resource.clear()
    at = app_session(90)
    at.query_params["cube"] = cube_id
    at.run()
    at.session_state["pins"] = [[40, 60]]
    at.switch_page("pages/map.py").run()
    assert not at.exception and not at.error
    header, rgba, values, index = map_payload(at)
    assert header["pins"][0]["row"] == 40 and header["pins"][0]["lon"] == pytest.approx(cube.lonlat(40, 60)[0])
    # Every cell inside the scene shows the band's value at the pixel it names; outside is transparent.
    inside = index >= 0
    band = cube.band(at.select_slider(key="band").value)
    np.testing.assert_array_equal(values[0][inside], band.ravel()[index[inside]])
    assert (rgba[..., 3][~inside] == 0).all() and (rgba[..., 3][inside] == 255).all()
    # The cells' centres lie in the pixels they name.
    h, w = index.shape
    west, _, east, north = header["bounds"]
    size = (east - west) / w
    i, j = h // 2, w // 2
    lon, lat = from_mercator(west + (j + 0.5) * size, north - (i + 0.5) * size)
    assert tuple(int(v) for v in geo.pixel_at(lon, lat)) == divmod(int(index[i, j]), cube.cols)
    table = at.table[0].value
    assert table["longitude"][0] == f"{cube.lonlat(40, 60)[0]:.6f}"
    at.radio(key="map_show").set_value("Savitzky-Golay").run()
    assert not at.exception and not at.error and map_payload(at)[0]["channels"] == 1


def test_map_page_says_when_a_cube_has_no_place():
    from cubescope.store import CubeStore

    demo = demo_cube()
    cube_id = "d" * 32
    CubeStore(os.environ["CUBESCOPE_STORE"]).put(Cube(demo.bsq, name="lab scan", wavelengths=demo.wavelengths), cube_id)
    st.cache_resource.clear()
    at = app_session(90)
    at.session_state["cube"] = cube_id
    at.run()
    at.switch_page("pages/map.py").run()
    assert not at.exception
    assert any("no georeferencing" in i.value for i in at.info)


def test_band_math_page_draws_the_linked_expression_and_refuses_a_foreign_one():
    from cubescope import band_math

    at = open_page("pages/bandmath.py", query={"bm_expr": "b40 / b12"})
    assert at.text_input(key="bm_expr").value == "b40 / b12"
    header, values, _ = viewer_payload(at, "image_bm")
    step = header["step"]
    expected = band_math(demo_cube(), "b40 / b12")[::step, ::step]
    np.testing.assert_allclose(values[0], expected[: values.shape[1], : values.shape[2]], rtol=1e-6)
    at.text_input(key="bm_expr").set_value("__import__('os').system('x')").run()
    assert not at.exception and not at.error
    assert any("not a function band math knows" in w.value for w in at.warning)


def test_continuum_and_library_pages_on_the_demo():
    at = open_page("pages/continuum.py", query={"px": "40-60,150-100"})
    assert at.slider(key="cr_feature").value == (2120.0, 2250.0)
    assert viewer_payload(at, "image_cr")[0]["id"].startswith("banddepthimage-2120.0-2250.0-")
    assert not at.error
    at.switch_page("pages/library.py").run()
    at.button(key="use_pins").click().run()
    assert not at.exception and not at.error
    header, values, pixels = viewer_payload(at, "image_sam")
    assert header["value_names"] == ["pixel (40, 60)", "pixel (150, 100)"]
    assert pixels.shape[-1] == 4 and set(np.unique(values[0][np.isfinite(values[0])])) <= {0.0, 1.0}


def test_classes_page_kmeans_map_and_abundances_of_atgp_endmembers():
    from cubescope.unmixing import atgp, unmix

    at = open_page("pages/unmixing.py", query={"um_k": "3"})
    header, values, pixels = viewer_payload(at, "image_um")
    assert header["value_names"] == ["class 0", "class 1", "class 2"] and pixels.shape[-1] == 4
    assert set(np.unique(values[0][np.isfinite(values[0])])) == {0.0, 1.0, 2.0}
    at.segmented_control(key="um_view").set_value("Unmixing").run()
    assert not at.exception and not at.error
    header, values, _ = viewer_payload(at, "image_um")
    cube = demo_cube()
    _, ends = atgp(cube, 4)
    expected = unmix(cube, ends, sum_to_one=True)[:, :, 0][:: header["step"], :: header["step"]]
    np.testing.assert_allclose(values[0], expected[: values.shape[1], : values.shape[2]], rtol=1e-5, atol=1e-6)


def test_pca_page_shows_mnf_images_with_their_snr():
    from cubescope.mnf import mnf

    at = open_page("pages/pca.py", query={"pca_view": "MNF image", "pca_k": "3"})
    assert not at.exception and not at.error
    header, values, _ = viewer_payload(at, "image_pca")
    fitted = mnf(demo_cube(), 3)
    assert f"SNR {fitted.snr_[0]:.3g}" in header["label"]
    expected = fitted.transform(demo_cube())[:, :, 0][:: header["step"], :: header["step"]]
    np.testing.assert_allclose(values[0], expected[: values.shape[1], : values.shape[2]], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("page, query", [
    ("pages/bandmath.py", {"bm_expr": "__import__('os').system('x')", "bm_stretch": "evil"}),
    ("pages/bandmath.py", {"bm_expr": "R" + "9" * 50, "bm_vmin": "nan"}),
    ("pages/continuum.py", {"cr_feature": "9999-1", "px": "5-5"}),
    ("pages/continuum.py", {"cr_feature": "abc"}),
    ("pages/library.py", {"sam_threshold": "nan", "sam_ref": "99999", "sam_view": "<b>x</b>"}),
    ("pages/unmixing.py", {"um_k": "99", "um_view": "Unmixing", "um_source": "Library", "um_image": "-1"}),
    ("pages/compress.py", {"cz_k": "0", "cz_seed": "x", "cz_codes": "evil"}),
    ("pages/map.py", {"map_show": "evil"}),
    ("pages/bands.py", {"rois": "a~zzzzzz~~1_2_3", "px": "1-1"}),
    ("pages/bands.py", {"rois": "x~e6194b~~1_1_5_1_5_5;" * 40}),
])
def test_hostile_links_on_the_analysis_pages_give_messages_not_errors(page, query):
    st.cache_resource.clear()
    at = app_session(120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    texts = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
    assert "<b>" not in texts


def test_kmeans_classes_become_rois_on_every_page():
    from cubescope.cluster import kmeans

    at = open_page("pages/unmixing.py", query={"um_k": "3"})
    at.button(key="um_to_rois").click().run()
    assert not at.exception and not at.error
    rois = at.session_state["rois"]
    labels = kmeans(demo_cube(), 3, seed=0).labels
    assert [r.name for r in rois] == ["class 0", "class 1", "class 2"]
    for k, area in enumerate(rois):
        np.testing.assert_array_equal(area.mask(*labels.shape), labels == k)
    at.switch_page("pages/bands.py").run()
    assert not at.exception and not at.error
    names = spectra_spec(at, "spectra")
    assert "class 0 mean" in names and "class 2 mean" in names
