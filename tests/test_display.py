import numpy as np
import pytest

from cubescope import CubeError
from cubescope.display import (
    DATA_LEVELS,
    NAN_INDEX,
    apply_colormap,
    image_stats,
    normalize,
    palette,
    render_tile,
    stretch_limits,
)
from cubescope.viewport import Window


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


def test_tile_indices_and_palette_with_transparent_nan():
    window = Window(0, 2, 0, 2)
    tile = render_tile(np.array([[0.0, 0.5], [1.0, np.nan]], np.float32), window, 1, "min-max")
    assert tile.pixels.tolist() == [[0, 120], [DATA_LEVELS - 1, NAN_INDEX]]
    assert len(palette("viridis")) == 768


def test_render_tile_limits_from_full_resolution():
    image = np.zeros((2000, 2000), np.float32)
    image[1, 1] = 100.0  # a single bright pixel the subsampled tile skips
    tile = render_tile(image, Window(0, 2000, 0, 2000), 4, "min-max")
    assert tile.limits == (0.0, 100.0) and tile.pixels.shape == (500, 500)


def test_image_stats_serve_every_stretch_like_the_image():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(700, 900)).astype(np.float32)
    image[::7, ::5] = np.nan
    image[3, 3] = np.inf
    stats = image_stats(image)
    for method, args in (("percentile", (2, 98)), ("percentile", (0.5, 99.9)), ("min-max", (2, 98))):
        assert stretch_limits(stats, method, *args) == stretch_limits(image, method, *args)
    finite = image[np.isfinite(image)]
    assert (stats.minimum, stats.maximum) == (finite.min(), finite.max())
