"""The scatter's density and selections: counted as numpy's histogram counts, selected as a
point-in-polygon test decides, streamed over blocks of rows."""

import base64
import json

import numpy as np
import pytest

from cubescope import Cube, CubeError, band_math, scatter
from cubescope.demo import demo_cube
from cubescope.pca import fit_pca
from cubescope.roi import rings_mask, rings_mask_point
from tests.apptest import open_page, plotly_array, share_query, spectra_spec, viewer_overlays

RNG = np.random.default_rng(29)


def images(rows=60, cols=70):
    x = RNG.normal(size=(rows, cols))
    y = 0.5 * x + RNG.normal(scale=0.3, size=(rows, cols))
    return x, y


def test_the_density_counts_as_numpy_s_histogram():
    x, y = images()
    x[3, 4] = np.nan
    y[5, 6] = np.inf
    found = scatter.density(x, y, bins=40, tail=0.0)
    finite = np.isfinite(x) & np.isfinite(y)
    expected, _, _ = np.histogram2d(x[finite], y[finite], bins=[found.x_edges, found.y_edges])
    np.testing.assert_array_equal(found.counts, expected.T)  # rows are y
    assert found.used == finite.sum() and found.outside == 0
    assert found.x_edges[0] == np.nanmin(x) and found.x_edges[-1] == np.nanmax(x[finite])


def test_the_tails_are_left_out_and_counted():
    x, y = images()
    x[0, 0] = 1e9  # a fill value missed
    found = scatter.density(x, y, bins=32)
    assert found.x_edges[-1] < 10 and found.outside >= 1
    assert found.used + found.outside == x.size


def test_an_image_without_outliers_keeps_every_pixel():
    x, y = images()
    found = scatter.density(x, y, bins=32)
    assert found.outside == 0 and found.used == x.size
    assert found.x_edges[0] == x.min() and found.y_edges[-1] == y.max()


def test_the_density_does_not_depend_on_the_blocks(monkeypatch):
    x, y = images(90, 50)
    whole = scatter.density(x, y, bins=25)
    monkeypatch.setattr(scatter, "_BLOCK_PIXELS", 170)  # three rows a block, the last one short
    np.testing.assert_array_equal(scatter.density(x, y, bins=25).counts, whole.counts)
    corners = [(-1, -1), (1.5, -0.5), (0.3, 1.2)]
    np.testing.assert_array_equal(scatter.select(x, y, corners), _reference(x, y, corners))


def _reference(x, y, corners):
    ring = np.asarray(corners, float)
    return np.array([[rings_mask_point(ring, a, b) if np.isfinite(a) and np.isfinite(b) else False
                      for a, b in zip(xr, yr, strict=True)] for xr, yr in zip(x, y, strict=True)])


@pytest.mark.parametrize("corners", [
    [(-1, -1), (1.5, -0.5), (0.3, 1.2)],  # a triangle
    [(-2, -2), (2, -2), (2, 2), (0, 0.1), (-2, 2)],  # not convex
    [(0, 0), (1, 1), (1, 0), (0, 1)],  # crossing itself: even-odd
])
def test_a_selection_holds_the_pixels_inside_its_polygon(corners):
    x, y = images()
    x[1, 1] = np.nan
    selected = scatter.select(x, y, corners)
    np.testing.assert_array_equal(selected, _reference(x, y, corners))
    assert not selected[1, 1]


def test_a_box_selects_its_spans():
    x, y = images()
    selected = scatter.select(x, y, scatter.box((0.5, -0.2), (-0.4, 0.9)))
    np.testing.assert_array_equal(selected, (x > -0.2) & (x < 0.5) & (y > -0.4) & (y < 0.9))


def test_a_long_lasso_is_thinned_and_survives_the_link():
    theta = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    lasso = np.c_[np.cos(theta), np.sin(theta)]
    kept = scatter.polygon(lasso)
    assert len(kept) == scatter.MAX_VERTICES
    back = scatter.decode_polygon(scatter.encode_polygon(lasso))
    np.testing.assert_allclose(back, kept, atol=1e-5)
    x, y = images()
    inside = scatter.select(x, y, back)
    radius = np.hypot(x, y)
    assert inside[radius < 0.999].all() and not inside[radius > 1.0].any()


def test_plotly_s_box_and_lasso_become_polygons_and_the_last_counts():
    box = {"box": [{"x": [0.3, 0.1], "y": [0.5, 0.2], "xref": "x", "yref": "y"}], "lasso": []}
    np.testing.assert_array_equal(scatter.drawn_polygon(box), [(0.1, 0.2), (0.3, 0.2), (0.3, 0.5), (0.1, 0.5)])
    lasso = {"box": [], "lasso": [{"x": [0, 1, 1], "y": [0, 0, 1]}, {"x": [2, 3, 3, 2], "y": [2, 2, 3, 3]}]}
    np.testing.assert_array_equal(scatter.drawn_polygon(lasso), [(2, 2), (3, 2), (3, 3), (2, 3)])
    for nothing in (None, {}, {"box": [], "lasso": []}, {"lasso": [{"x": [1, 2], "y": [1, 2]}]},
                    {"box": [{"x": [1], "y": [2]}]}, {"lasso": [{"x": [1, 2, 3], "y": [1, 2]}]}, "box"):
        assert scatter.drawn_polygon(nothing) is None


@pytest.mark.parametrize("text", ["", "1_2_3_4", "1_2_3_4_5", "a_b_c_d_e_f", "1_2_3_4_5_nan", "1_" * 600 + "1"])
def test_a_bad_link_polygon_is_refused(text):
    with pytest.raises(ValueError):
        scatter.decode_polygon(text)


def test_marked_pixels_are_sampled_evenly():
    x, y = images()
    mask = np.zeros(x.shape, bool)
    mask[10:40, 10:60] = True
    xs, ys = scatter.sample_points(x, y, mask, limit=100)
    assert xs.size == 100
    assert set(zip(xs, ys, strict=True)) <= set(zip(x[mask], y[mask], strict=True))


@pytest.mark.parametrize("call, message", [
    (lambda: scatter.density(np.zeros((3, 4)), np.zeros((4, 3))), "one size"),
    (lambda: scatter.density(np.full((3, 4), np.nan), np.zeros((3, 4))), "no value to plot"),
    (lambda: scatter.density(np.zeros((3, 4)), np.zeros((3, 4)), bins=1), "2 to 1024"),
    (lambda: scatter.select(np.zeros((3, 4)), np.zeros((3, 4)), [(0, 0), (1, 1)]), "three"),
])
def test_unusable_requests_get_a_message(call, message):
    with pytest.raises(CubeError, match=message):
        call()


def test_a_constant_image_gets_a_span():
    found = scatter.density(np.full((5, 5), 3.0), np.arange(25.0).reshape(5, 5), bins=8)
    assert found.x_edges[0] < 3.0 < found.x_edges[-1] and found.used == 25


# ----------------------------------------------------------------------------- the page
def _bits(overlay) -> np.ndarray:
    packed = np.frombuffer(base64.b64decode(overlay["bits"]), np.uint8)
    return np.unpackbits(packed)[:overlay["rows"] * overlay["cols"]].reshape(overlay["rows"], overlay["cols"]) == 1


def test_the_page_draws_the_red_and_near_infrared_density():
    at = open_page("pages/scatter.py")
    assert not at.error and not at.warning
    cube = demo_cube()
    red, nir = scatter.default_bands(cube)
    assert abs(cube.wavelengths_nm[red] - 660) < 20 and abs(cube.wavelengths_nm[nir] - 860) < 30
    figure = json.loads(spectra_spec(at, "scatter"))
    heat = figure["data"][0]
    expected = scatter.density(cube.band(red), cube.band(nir), bins=160)
    np.testing.assert_array_equal(plotly_array(heat["customdata"]), expected.counts)
    assert "664.6 nm" in figure["layout"]["xaxis"]["title"]["text"]
    assert any(f"{expected.used:,} pixels in 160 x 160 cells" in c.value for c in at.caption)
    assert share_query(at) == {}


def test_a_linked_selection_is_tinted_on_the_image_and_made_an_roi_of_its_pixels():
    corners = "0.03_0.33_0.11_0.33_0.11_0.4_0.03_0.4"
    at = open_page("pages/scatter.py", query={"sc_sel": corners})
    cube = demo_cube()
    red, nir = scatter.default_bands(cube)
    selected = scatter.select(cube.band(red), cube.band(nir), scatter.decode_polygon(corners))
    masks = [o for o in viewer_overlays(at, "image_sc") if o["kind"] == "mask"]
    assert len(masks) == 1 and masks[0]["step"] == 1
    np.testing.assert_array_equal(_bits(masks[0]), selected)
    assert any(f"{selected.sum():,} pixels selected" in m.value for m in at.markdown)
    shape = json.loads(spectra_spec(at, "scatter"))["layout"]["shapes"][0]
    assert shape["path"].startswith("M 0.03,0.33 L 0.11,0.33")
    at.text_input(key="sc_class").set_value("vegetation")
    at.button(key="sc_make_roi").click().run()
    area = at.session_state["rois"][-1]
    assert area.label == "vegetation" and area.name == "ROI 1"
    np.testing.assert_array_equal(rings_mask(area.rings, cube.rows, cube.cols), selected)
    assert any(f"ROI 1 (class vegetation, {selected.sum():,} pixels) added" in i.value.replace("\\", "")
               for i in at.info)
    at.button(key="sc_clear").click().run()
    assert "sc_sel" not in share_query(at) and not [o for o in viewer_overlays(at, "image_sc") if o["kind"] == "mask"]


def test_a_selection_is_forgotten_when_an_axis_changes():
    at = open_page("pages/scatter.py", query={"sc_sel": "0.03_0.33_0.11_0.33_0.11_0.4"})
    assert share_query(at)["sc_sel"]
    at.segmented_control(key="sc_y").set_value("PC").run()
    assert "sc_sel" not in share_query(at) and share_query(at)["sc_y"] == "PC"


def test_component_and_band_math_axes_plot_their_images():
    at = open_page("pages/scatter.py", query={"sc_x": "PC", "sc_x_comp": "1", "sc_y": "Band math", "sc_y_expr": "NDVI"})
    assert not at.error and not at.warning
    cube = demo_cube()
    k = scatter.components(cube)
    pc = fit_pca(cube, k).transform(cube)[:, :, 0]
    expected = scatter.density(pc, band_math(cube, "NDVI"), bins=160)
    counts = plotly_array(json.loads(spectra_spec(at, "scatter"))["data"][0]["customdata"])
    # The page's PCA runs in float32: a pixel may sit in the neighbouring cell.
    assert np.abs(counts - expected.counts).sum() <= 0.002 * expected.used
    layout = json.loads(spectra_spec(at, "scatter"))["layout"]
    assert layout["xaxis"]["title"]["text"] == "PC 1" and layout["yaxis"]["title"]["text"] == "NDVI"


def test_marked_pixels_are_drawn_over_the_density_in_their_colours():
    at = open_page("pages/scatter.py", query={"px": "40-60", "roi": "10-20-30-50"})
    traces = {t.get("name"): t for t in json.loads(spectra_spec(at, "scatter"))["data"]}
    cube = demo_cube()
    red, _ = scatter.default_bands(cube)
    pin = traces["pixel (40, 60)"]
    assert plotly_array(pin["x"])[0] == pytest.approx(cube.band(red)[40, 60]) and pin["marker"]["symbol"] == "x"
    assert len(plotly_array(traces["region"]["x"])) == 10 * 20


@pytest.mark.parametrize("query, said", [
    ({"sc_x": "PC", "sc_x_comp": "9"}, "cannot be used here"),
    ({"sc_x": "Band math", "sc_x_expr": "R400 +"}, "cannot be read"),
    ({"sc_x": "Band math", "sc_x_expr": "R5000"}, "4100 nm away"),
])
def test_unusable_axes_are_messages(query, said):
    at = open_page("pages/scatter.py", query=query, cube=_small())
    assert not at.error and any(said in w.value for w in at.warning), [w.value for w in at.warning]


def _small():
    return Cube.from_array(RNG.random((30, 40, 6)).astype(np.float32), name="small scan",
                           wavelengths=np.linspace(500, 900, 6), wavelength_units="nm")


@pytest.mark.parametrize("query, said", [
    ({"sc_sel": "1_2_3"}, "selection"),
    ({"sc_sel": "1_2_3_4_nan_5"}, "selection"),
    ({"sc_x_band": "999"}, "bands 0 to 5"),
    ({"sc_y": "Everything"}, "y axis"),
])
def test_unusable_link_values_are_named_where_the_link_opens(query, said):
    at = open_page(None, query=query, cube=_small())
    assert not at.error and any(said in w.value for w in at.warning), [w.value for w in at.warning]
    at.switch_page("pages/scatter.py").run()
    assert not at.error and "sc_sel" not in share_query(at)


def test_one_band_scatters_against_itself():
    cube = Cube.from_array(RNG.random((20, 30, 1)).astype(np.float32), name="one band")
    at = open_page("pages/scatter.py", cube=cube)
    assert not at.error
    heat = json.loads(spectra_spec(at, "scatter"))["data"][0]
    counts = plotly_array(heat["customdata"])
    assert counts.sum() == 600 and (counts[~np.eye(160, dtype=bool)] == 0).all()  # on the diagonal
