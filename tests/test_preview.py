"""The viewer's preview: bands and spectra from the mean, the loadings and quantized PC scores,
equal to the PCA's reconstruction to the quantization step; bad bands and no-data left out; every
band's stretch as its exact image's."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cubescope import Cube, CubeError, display, preview
from cubescope.demo import demo_cube
from cubescope.pca import fit_pca
from cubescope.viewport import Window
from tests.apptest import open_page, rerun_until

RNG = np.random.default_rng(30)


def test_a_band_is_the_pca_reconstruction_to_the_quantization_step():
    cube = demo_cube()
    model = preview.fit_preview(cube)
    k = model.n_components
    fitted = fit_pca(cube, k)
    scores = fitted.transform(cube)  # (rows, cols, k), float32 as the app computes them
    shown = preview.preview_window(cube, model, Window(0, cube.rows, 0, cube.cols), 1)
    for band in (0, 40, 127):
        expected = fitted.mean_[band] + scores @ fitted.components_[:, band]
        # Half a step of each component's code, through the band's loadings, plus float32 rounding.
        bound = np.abs(model.loadings[band]) @ (shown.scales / 2) + 1e-5
        np.testing.assert_array_less(np.abs(preview.preview_band(model, shown, band) - expected), bound)


def test_the_components_explain_the_variance_asked_for_and_the_rmse_is_measured():
    cube = demo_cube()
    model = preview.fit_preview(cube, variance=0.999)
    assert model.explained >= 0.999 or model.n_components == preview.MAX_COMPONENTS
    fitted = fit_pca(cube, model.n_components)
    assert fitted.cumulative_variance_ratio_[-1] == pytest.approx(model.explained)
    pixels = np.moveaxis(np.stack([cube.band(b) for b in range(cube.n_bands)]), 0, -1).reshape(-1, cube.n_bands)
    scores = (pixels - fitted.mean_) @ fitted.components_.T
    residual = pixels - fitted.mean_ - scores @ fitted.components_
    assert model.rmse == pytest.approx(np.sqrt(np.mean(residual ** 2)), rel=1e-3)
    few = preview.fit_preview(cube, max_components=2)
    assert few.n_components == 2 and few.rmse > model.rmse


def test_a_window_at_a_step_is_the_whole_image_s_samples():
    cube = demo_cube()
    model = preview.fit_preview(cube)
    whole = preview.preview_window(cube, model, Window(0, cube.rows, 0, cube.cols), 1)
    part = preview.preview_window(cube, model, Window(30, 151, 17, 200), 3)
    assert part.codes.shape[1:] == (len(range(30, 151, 3)), len(range(17, 200, 3)))
    full = preview.preview_band(model, whole, 60)[30:151:3, 17:200:3]
    np.testing.assert_allclose(preview.preview_band(model, part, 60), full,
                               atol=float(np.abs(model.loadings[60]) @ (whole.scales + part.scales)))


def test_bad_bands_have_no_preview_and_pixels_without_data_show_none():
    values = RNG.normal(size=(20, 24, 8)).astype(np.float32) @ RNG.normal(size=(8, 8)).astype(np.float32) + 5
    values[3, 4, 2] = np.nan  # no data in a band the fit uses
    values[5, 6, 6] = np.nan  # no data only in the bad band
    bad = np.zeros(8, bool)
    bad[6] = True
    cube = Cube.from_array(values, bad_bands=bad)
    model = preview.fit_preview(cube)
    assert np.isnan(model.mean[6]) and np.isnan(model.loadings[6]).all() and 6 not in model.bands
    shown = preview.preview_window(cube, model, Window(0, 20, 0, 24), 1)
    assert np.isnan(preview.preview_band(model, shown, 6)).all()
    band = preview.preview_band(model, shown, 1)
    assert np.isnan(band[3, 4]) and np.isfinite(band[5, 6]) and np.isfinite(band).sum() == 20 * 24 - 1
    spectrum = preview.preview_spectrum(model, shown, 5, 6)
    assert np.isnan(spectrum[6]) and np.isfinite(np.delete(spectrum, 6)).all()
    assert np.isnan(preview.preview_spectrum(model, shown, 3, 4)).all()


@pytest.mark.parametrize("empty", [np.nan, -9999.0], ids=["NaN", "no-data"])
def test_a_band_empty_everywhere_is_left_out_as_a_bad_band(empty):
    values = RNG.normal(size=(20, 24, 8)).astype(np.float32) @ RNG.normal(size=(8, 8)).astype(np.float32) + 5
    values[..., 3] = empty  # not flagged bad: no pixel has data in every band
    cube = Cube.from_array(values, nodata=None if np.isnan(empty) else empty)
    model = preview.fit_preview(cube)
    assert 3 not in model.bands and model.bands.size == 7 and np.isnan(model.mean[3])
    shown = preview.preview_window(cube, model, Window(0, 20, 0, 24), 1)
    band = preview.preview_band(model, shown, 5)
    assert np.isfinite(band).all()
    assert np.abs(band - cube.band(5)).max() < 3 * model.rmse + 1e-3


def test_a_spectrum_is_the_bands_of_its_shown_sample():
    cube = demo_cube()
    model = preview.fit_preview(cube)
    shown = preview.preview_window(cube, model, Window(0, 200, 0, 240), 2)
    spectrum = preview.preview_spectrum(model, shown, 51, 80)  # the sample at (50, 80) covers it
    expected = [preview.preview_band(model, shown, b)[25, 40] for b in range(cube.n_bands)]
    np.testing.assert_allclose(spectrum, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(spectrum - cube.spectrum(50, 80)).max() < 6 * model.rmse + 0.01


def test_a_scaled_integer_cube_previews_in_its_physical_units():
    raw = (RNG.random((16, 18, 6)) * 3000 + 1000).astype(np.int16)
    cube = Cube(np.moveaxis(raw, -1, 0).copy(), gain=np.full(6, 1e-4), offset=np.zeros(6))
    model = preview.fit_preview(cube)
    shown = preview.preview_window(cube, model, Window(0, 16, 0, 18), 1)
    assert np.abs(preview.preview_band(model, shown, 2) - cube.band(2)).max() < 3 * model.rmse + 1e-4
    assert 0.1 < float(np.nanmean(preview.preview_band(model, shown, 2))) < 0.4


def test_every_band_s_stretch_is_its_exact_image_s():
    cube = demo_cube()
    for method, low, high, vmin, vmax in (("percentile", 2, 98, None, None), ("min-max", 0, 100, None, None),
                                          ("range", 2, 98, 0.1, 0.3)):
        limits = preview.band_limits(cube, method, low, high, vmin, vmax)
        for band in (0, 77):
            assert tuple(limits[band]) == display.stretch_limits(cube.band(band), method, low, high, vmin, vmax)


def test_a_cube_of_one_usable_band_has_no_preview():
    with pytest.raises(CubeError, match="two usable bands"):
        preview.fit_preview(Cube.from_array(RNG.random((5, 6, 1)).astype(np.float32)))


# ----------------------------------------------------------------------------- the page
def _preview_parts(at, key="image"):
    """What the page's last run sent viewer ``key``: the preview's ``bytes`` (or, once sent, the
    JSON ``note`` that the browser keeps them) and the ``stretch`` table."""
    import json

    parts = {}
    for element in at.get("bidi_component"):
        if element.proto.id.endswith(f"-{key}_preview"):
            if element.proto.bytes:
                parts["bytes"] = element.proto.bytes
            else:
                parts["note"] = json.loads(element.proto.json)
        if element.proto.id.endswith(f"-{key}_preview_stretch"):
            parts["stretch"] = json.loads(element.proto.json)
    return parts


def unpack_preview(payload: bytes):
    """The header, mean, loadings, offsets, scales and codes of a preview payload."""
    import json

    length = int(np.frombuffer(payload[:4], "<u4")[0])
    header = json.loads(payload[4:4 + length])
    n, k = header["n_bands"], header["k"]
    floats = np.frombuffer(payload[4 + length:4 + length + 4 * (n + n * k + 2 * k)], "<f4")
    codes = np.frombuffer(payload[4 + length + 4 * floats.size:], "<u2").reshape(k, header["h"], header["w"])
    return header, floats[:n], floats[n:n + n * k].reshape(n, k), floats[n + n * k:n + n * k + k], floats[-k:], codes


def _wait_for_preview(at) -> dict:
    """Rerun until the page has sent the preview and its stretch, each computed in the
    background: the stretch may come a run after the preview, which that run only notes."""
    sent = {}

    def ready(at):
        parts = _preview_parts(at)
        if "bytes" in parts:
            sent["bytes"] = parts["bytes"]
        return {**parts, **sent} if sent and parts["stretch"]["limits"] else None

    return rerun_until(at, ready, "the preview")


def test_the_bands_page_sends_the_preview_once_computed_in_the_background():
    at = open_page("pages/bands.py")
    parts = _wait_for_preview(at)
    header, mean, loadings, offsets, scales, codes = unpack_preview(parts["bytes"])
    cube = demo_cube()
    model = preview.fit_preview(cube)
    np.testing.assert_allclose(mean, model.mean, rtol=1e-6)
    np.testing.assert_allclose(np.abs(loadings), np.abs(model.loadings), rtol=1e-5, atol=1e-7)
    assert header["window"] == [0, 200, 0, 240] and header["chart"] == "spectra"
    assert parts["stretch"]["id"] == header["id"]
    shown = preview.PreviewWindow(codes, offsets, scales, Window(*header["window"]), header["step"])
    band = preview.preview_band(preview.PreviewModel(model.bands, mean, loadings, 0, 0), shown, 40)
    exact = cube.band(40)[::header["step"], ::header["step"]]
    assert np.abs(band - exact).max() < 6 * header["rmse"] + 0.01
    limits = preview.band_limits(cube)
    assert parts["stretch"]["limits"][40] == list(limits[40])
    assert parts["stretch"]["labels"][40].startswith("band 40 ·")


def test_the_preview_is_sent_once_then_noted_until_the_browser_asks_again():
    at = open_page("pages/bands.py")
    header = unpack_preview(_wait_for_preview(at)["bytes"])[0]
    at.select_slider(key="band").set_value(50).run()
    note = _preview_parts(at)["note"]
    assert {k: v for k, v in note.items() if k != "run"} == {"target": "image", "kept": header["id"]}
    at.session_state["previews_sent"] = {"image": None}  # what the browser's "missing" report does
    at.run()
    assert unpack_preview(_preview_parts(at)["bytes"])[0]["id"] == header["id"]


def test_a_new_stretch_is_never_coloured_with_the_previous_one():
    at = open_page("pages/bands.py")
    before = _wait_for_preview(at)["stretch"]["limits"]
    at.radio(key="stretch").set_value("min-max").run()
    expected = [list(pair) for pair in preview.band_limits(demo_cube(), "min-max", 2, 98)]
    assert expected != before

    def new_table(at):
        limits = _preview_parts(at)["stretch"]["limits"]
        assert limits in ([], expected)  # empty while the new table is computed, never the old one
        return limits

    rerun_until(at, new_table, "the new stretch table")


def test_a_screen_of_many_pixels_gets_a_coarser_preview_than_its_exact_image():
    values = RNG.random((700, 700, 6)).astype(np.float32)
    at = open_page("pages/bands.py", cube=Cube.from_array(values, name="wide"),
                   session={"image_box": (700.0, 700.0, 1.0)})
    header = unpack_preview(_wait_for_preview(at)["bytes"])[0]
    assert header["shown_step"] == 1 and header["step"] == 2  # 700 x 700 exact samples, 350 x 350 previewed
    assert header["h"] * header["w"] <= 2**18


def test_the_preview_s_background_work_runs_below_the_server_and_the_conversions():
    import os
    import threading

    from cubescope.io.isolated import CHILD_NICENESS
    from cubescope_ui import data

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    key = ("niceness", time.monotonic())
    deadline = time.monotonic() + 30
    while (found := data.in_background(key, niceness)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert found == data.BACKGROUND_NICENESS > os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICENESS


def test_a_whole_cube_preview_job_waits_for_the_conversions_a_window_job_does_not():
    from cubescope.io.isolated import TURNS
    from cubescope_ui import data

    def until(condition) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline
            time.sleep(0.05)

    key = ("conversions", time.monotonic())
    with TURNS.turn():  # a conversion running
        assert data.in_background((*key, "cube"), lambda: TURNS.wait_idle(0), whole_cube=True) is None
        until(lambda: data.in_background((*key, "window"), lambda: "painted") == "painted")
        assert data.in_background((*key, "cube"), lambda: TURNS.wait_idle(0), whole_cube=True) is None
    # it ran once the conversion had ended, not before
    until(lambda: data.in_background((*key, "cube"), lambda: TURNS.wait_idle(0), whole_cube=True) is True)


def test_a_whole_cube_preview_job_waits_while_an_upload_is_received():
    from cubescope.io.isolated import TURNS
    from cubescope_ui import data
    from cubescope_ui.streamed_uploads import RECEIVING

    key = ("receiving", time.monotonic())
    ran = []
    with RECEIVING.one():  # an upload arriving, no conversion yet
        assert TURNS.wait_idle(0)
        assert data.in_background(key, lambda: ran.append(True) or True, whole_cube=True) is None
        deadline = time.monotonic() + 30
        while data.in_background((*key, "window"), lambda: "painted") != "painted":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert ran == []  # a window job ran meanwhile; the whole-cube one still waits
    deadline = time.monotonic() + 30
    while data.in_background(key, lambda: True, whole_cube=True) is not True:
        assert time.monotonic() < deadline
        time.sleep(0.05)
