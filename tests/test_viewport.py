"""The viewer's window and resolution, and its payload."""

import numpy as np
import pytest

from cubescope import CubeError, display
from cubescope.viewport import MIN_WINDOW, Window, crop, sample_step, shown_shape
from cubescope_ui.viewer import pack, unpack


@pytest.mark.parametrize(
    "window, box, ratio, step",
    [
        (Window(0, 2000, 0, 2000), (700, 700), 1.0, 3),  # 2000 px into 700: every 3rd pixel
        (Window(0, 2000, 0, 2000), (700, 700), 2.0, 2),  # a high-density screen shows more
        (Window(0, 200, 0, 200), (700, 700), 1.0, 1),  # zoomed in: every pixel
        (Window(0, 50, 0, 2000), (700, 140), 1.0, 3),  # a strip fits by its width
        (Window(0, 2000, 0, 50), (700, 600), 1.0, 4),  # a tall strip fits by its height
        (Window(0, 1024, 0, 1024), (1024, 1024), 1.0, 1),  # exactly one sample per screen pixel
    ],
)
def test_sample_step_sends_about_one_sample_per_screen_pixel(window, box, ratio, step):
    assert sample_step(window, *box, pixel_ratio=ratio) == step
    rows, cols = shown_shape(window, step)
    scale = min(box[0] / window.width, box[1] / window.height) * min(ratio, 2)
    assert max(rows, cols) <= max(window.height, window.width) * scale + 1  # never more than the screen shows


def test_sample_step_refuses_a_box_without_size():
    with pytest.raises(CubeError):
        sample_step(Window(0, 10, 0, 10), 0, 100)


@pytest.mark.parametrize(
    "window, fitted",
    [
        (Window(-50, 50, 0, 10), Window(0, 100, 0, 10)),  # moved inside, size kept
        (Window(150, 250, 230, 260), Window(100, 200, 210, 240)),
        (Window(5, 6, 7, 8), Window(5, 5 + MIN_WINDOW, 7, 7 + MIN_WINDOW)),  # grown to the smallest window
        (Window(-10, 9999, -10, 9999), Window(0, 200, 0, 240)),  # larger than the image: the image
    ],
)
def test_windows_are_fitted_inside_the_image(window, fitted):
    assert window.fitted(200, 240) == fitted


def test_crop_takes_every_step_th_pixel_of_the_window():
    image = np.arange(100 * 120).reshape(100, 120)
    window = Window(10, 31, 20, 45)
    tile = crop(image, window, 4)
    assert tile.shape == shown_shape(window, 4) == (6, 7)
    np.testing.assert_array_equal(tile, image[10:31:4, 20:45:4])
    assert np.shares_memory(tile, image)  # a view: no copy of the band


def test_payload_round_trip_keeps_values_nan_and_colours():
    values = np.array([[np.nan, -1.5, 0.0], [2.5, 1e30, -np.inf]], np.float32)
    tile = display.image_tile(values, Window(4, 6, 9, 12), 1, -1.5, 2.5)
    header, planes, pixels = unpack(
        pack(tile, 50, 60, colormap="viridis", label="band 3 · 550 nm", quantity="reflectance", tile_id="t")
    )
    np.testing.assert_array_equal(planes[0], values)  # NaN and infinities travel as they are
    np.testing.assert_array_equal(pixels, tile.pixels)
    assert pixels[0, 0] == display.NAN_INDEX and header["nan_index"] == display.NAN_INDEX
    assert header["window"] == [4, 6, 9, 12] and (header["h"], header["w"]) == (2, 3)
    assert bytes(header["palette"]) == display.palette("viridis")
    assert header["label"] == "band 3 · 550 nm" and header["quantity"] == "reflectance"


def test_rgb_payload_carries_three_value_planes():
    channels = tuple(np.full((3, 4), v, np.float32) for v in (0.1, 0.2, 0.3))
    tile = display.rgb_tile(channels, Window(0, 3, 0, 4), 1, ((0, 1), (0, 1), (0, 1)))
    header, planes, pixels = unpack(pack(tile, 3, 4, channel_names=("R", "G", "B")))
    assert header["kind"] == "rgba" and header["palette"] is None
    np.testing.assert_allclose(planes[:, 0, 0], [0.1, 0.2, 0.3])
    assert pixels.shape == (3, 4, 4)
    # The header is padded so that the values start on a 4-byte boundary, as Float32Array needs.
    length = int(np.frombuffer(pack(tile, 3, 4)[:4], "<u4")[0])
    assert (4 + length) % 4 == 0


def test_image_tile_stretch_comes_from_the_whole_image():
    image = np.linspace(0, 1, 100 * 100, dtype=np.float32).reshape(100, 100)
    lo, hi = display.stretch_limits(image, "min-max")
    window = Window(0, 10, 0, 10)  # the dark corner only
    tile = display.image_tile(crop(image, window, 1), window, 1, lo, hi)
    assert tile.pixels.max() < display.DATA_LEVELS // 10  # dark, as in the whole image: not re-stretched


def test_no_colourbar_for_an_image_without_data():
    window = Window(0, 2, 0, 2)
    empty = display.render_tile(np.full((2, 2), np.nan, np.float32), window, 1)
    assert unpack(pack(empty, 2, 2, colorbar="band 3"))[0]["colorbar"] is None
    shown = display.render_tile(np.arange(4, dtype=np.float32).reshape(2, 2), window, 1, "min-max")
    assert unpack(pack(shown, 2, 2, colorbar="band 3"))[0]["colorbar"] == {"lo": 0.0, "hi": 3.0, "title": "band 3"}


def test_a_region_box_becomes_a_mask_of_exactly_its_pixels():
    from cubescope.viewport import box_mask

    mask = box_mask((2, 5, 1, 3), 6, 4)
    assert mask.shape == (6, 4) and mask.sum() == 3 * 2
    assert mask[2:5, 1:3].all() and not mask[5].any() and not mask[:, 3].any()
    assert box_mask(None, 6, 4) is None
