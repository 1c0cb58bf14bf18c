import io

import numpy as np
import pytest
from PIL import Image

from cubescope import CubeError
from cubescope.display import (
    DATA_LEVELS,
    NAN_INDEX,
    DisplayGrid,
    apply_colormap,
    band_view,
    display_grid,
    encode_indexed_png,
    normalize,
    stretch_limits,
)


def test_percentile_and_minmax_limits_ignore_nan_and_inf():
    image = np.arange(100, dtype=np.float32).reshape(10, 10)
    image[0, 0], image[0, 1] = np.nan, np.inf
    assert stretch_limits(image, "min-max") == (2.0, 99.0)
    lo, hi = stretch_limits(image, "percentile", 0, 100)
    assert (lo, hi) == (2.0, 99.0)


def test_all_nan_gives_nan_limits_and_transparent_image():
    image = np.full((4, 4), np.nan, np.float32)
    lo, hi = stretch_limits(image)
    assert np.isnan(lo) and np.isnan(hi)
    rgba = apply_colormap(normalize(image, lo, hi))
    assert (rgba[..., 3] == 0).all()


def test_normalize_constant_image_does_not_divide_by_zero():
    out = normalize(np.full((3, 3), 7.0), 7.0, 7.0)
    assert np.all(out == 0.5)


def test_normalize_clips_and_keeps_order_for_negative_values():
    image = np.linspace(-300, 300, 7)
    out = normalize(image, -300, 300)
    assert out[0] == 0 and out[-1] == 1 and np.all(np.diff(out) > 0)
    assert normalize(np.array([-1e9, 1e9, np.nan]), -1, 1)[:2].tolist() == [0, 1]


def test_user_range_validation():
    with pytest.raises(CubeError, match="above"):
        stretch_limits(np.zeros(3), "range", vmin=2, vmax=1)


def test_indexed_png_round_trip_with_transparent_nan():
    unit = np.array([[0.0, 0.5], [1.0, np.nan]], np.float32)
    view_index = np.array([[0, 120], [DATA_LEVELS - 1, NAN_INDEX]], np.uint8)
    png = encode_indexed_png(view_index, "viridis")
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P" and image.info["transparency"] == NAN_INDEX
    assert np.array_equal(np.asarray(image), view_index)
    rgba = np.asarray(image.convert("RGBA"))
    assert rgba[1, 1, 3] == 0 and rgba[0, 0, 3] == 255
    assert unit.shape == rgba.shape[:2]


@pytest.mark.parametrize("rows, cols", [(1024, 1024), (2000, 300), (38, 23), (600, 600), (1, 5000)])
def test_grid_sizes_stay_within_bounds(rows, cols):
    grid = display_grid(rows, cols)
    height, width = grid.shape
    assert max(height, width) <= 2 * 768 and grid.apply(np.zeros((rows, cols))).shape == grid.shape


@pytest.mark.parametrize("grid", [
    DisplayGrid(1024, 1024, step=2), DisplayGrid(1000, 333, step=3), DisplayGrid(38, 23, zoom=9),
    DisplayGrid(200, 240, zoom=2), DisplayGrid(500, 700),
])
@pytest.mark.parametrize("css_scale", [1.0, 0.63, 1.7])
def test_click_maps_to_the_pixel_whose_value_is_drawn(grid, css_scale):
    """A click anywhere on the drawn image lands on the full-resolution pixel shown there."""
    rng = np.random.default_rng(0)
    full = rng.random((grid.rows, grid.cols))
    shown = grid.apply(full)
    height, width = grid.shape
    shown_w, shown_h = width * css_scale, height * css_scale
    for x, y in rng.random((200, 2)) * [shown_w, shown_h]:
        row, col = grid.to_pixel(x, y, shown_w, shown_h)
        drawn = shown[int(y * height / shown_h), int(x * width / shown_w)]
        assert full[row, col] == drawn
    # The corners map to the corners' shown pixels, never outside the image.
    assert grid.to_pixel(0, 0, shown_w, shown_h) == (0, 0)
    last = grid.to_pixel(shown_w, shown_h, shown_w, shown_h)
    assert last[0] < grid.rows and last[1] < grid.cols


def test_to_display_and_back():
    grid = DisplayGrid(1000, 333, step=3)
    for row, col in [(0, 0), (999, 332), (500, 100)]:
        x, y = grid.to_display(row, col)
        r, c = grid.to_pixel(x, y, grid.shape[1], grid.shape[0])
        assert (r, c) == (row - row % 3, col - col % 3)


def test_band_view_limits_from_full_resolution():
    image = np.zeros((2000, 2000), np.float32)
    image[1, 1] = 100.0  # a single bright pixel the subsampled view skips
    view = band_view(image, "min-max")
    assert view.hi == 100.0
