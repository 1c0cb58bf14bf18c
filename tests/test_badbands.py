import io

import numpy as np
import pytest

from cubescope.badbands import decode_runs, encode_runs, parse_ranges, ranges_text

AVIRIS_LIKE = np.linspace(380.0, 2510.0, 224)  # nm


def test_water_vapour_ranges_in_nanometres_mark_the_bands_inside():
    mask = parse_ranges("1340-1445, 1790-1955 nm", 224, AVIRIS_LIKE, "nm")
    expected = ((AVIRIS_LIKE >= 1340) & (AVIRIS_LIKE <= 1445)) | ((AVIRIS_LIKE >= 1790) & (AVIRIS_LIKE <= 1955))
    np.testing.assert_array_equal(mask, expected)


def test_units_convert_and_a_unit_after_the_last_item_holds_for_the_others():
    in_um = parse_ranges("1.34-1.445; 1.79 - 1.955 µm", 224, AVIRIS_LIKE, "nm")
    np.testing.assert_array_equal(in_um, parse_ranges("1340-1445, 1790-1955 nm", 224, AVIRIS_LIKE, "nm"))
    mixed = parse_ranges("1340-1445 nm, 1.79-1.955 micrometers", 224, AVIRIS_LIKE, "nm")
    np.testing.assert_array_equal(mixed, in_um)
    # Without a unit, values are in the cube's own unit.
    cube_um = AVIRIS_LIKE / 1000
    np.testing.assert_array_equal(parse_ranges("1.34-1.445, 1.79-1.955", 224, cube_um, "µm"), in_um)


def test_band_numbers_and_single_wavelengths():
    mask = parse_ranges("b0-b3, band 220-223, #100, 940 nm", 224, AVIRIS_LIKE, "nm")
    nearest = int(np.argmin(np.abs(AVIRIS_LIKE - 940)))
    assert np.flatnonzero(mask).tolist() == sorted([0, 1, 2, 3, 100, nearest, 220, 221, 222, 223])
    # A cube without wavelengths: plain numbers are band numbers.
    assert np.flatnonzero(parse_ranges("2-4, 7", 10)).tolist() == [2, 3, 4, 7]
    assert not parse_ranges("", 10).any() and not parse_ranges(" , ", 224, AVIRIS_LIKE, "nm").any()


def test_wavelengths_that_step_back_mark_every_band_in_the_range():
    # Two spectrometers overlapping from 950 to 1000 nm: a range there marks bands of both.
    two = np.r_[np.linspace(400, 1000, 13), np.linspace(950, 2500, 32)]
    mask = parse_ranges("940-1010 nm", two.size, two, "nm")
    assert mask[:13].sum() == 2 and mask[13:].sum() == 2
    np.testing.assert_array_equal(mask, (two >= 940) & (two <= 1010))


@pytest.mark.parametrize(("text", "why"), [
    ("1340-1445 furlongs", "not a unit"),
    ("b300", "bands 0 to 223"),
    ("1340..1445", "not a range"),
    ("5000 nm", "outside this cube's bands"),
    ("1001-1002 nm", "holds no band"),
    ("drop the water bands", "not a range"),
])
def test_unreadable_items_are_named(text, why):
    with pytest.raises(ValueError, match=why):
        parse_ranges(text, 224, AVIRIS_LIKE, "nm")


def test_no_wavelengths_refuses_units_and_fractions():
    with pytest.raises(ValueError, match="no wavelengths"):
        parse_ranges("400-500 nm", 10)
    with pytest.raises(ValueError, match="no wavelengths"):
        parse_ranges("2.5", 10)


@pytest.mark.parametrize("marked", [[], [0], [3, 4, 5, 9], [0, 1, 222, 223], list(range(224))])
def test_text_and_link_read_back_to_the_same_bands(marked):
    mask = np.zeros(224, bool)
    mask[marked] = True
    np.testing.assert_array_equal(parse_ranges(ranges_text(mask, AVIRIS_LIKE, "nm"), 224, AVIRIS_LIKE, "nm"), mask)
    np.testing.assert_array_equal(parse_ranges(ranges_text(mask, None, None), 224), mask)
    np.testing.assert_array_equal(decode_runs(encode_runs(mask), 224), mask)


@pytest.mark.parametrize("text", ["3-", "a", "5-3", "1-300", "-1"])
def test_link_runs_outside_the_cube_are_refused(text):
    with pytest.raises(ValueError):
        decode_runs(text, 224)


def test_an_edited_list_goes_into_the_exports_as_gdal_reads_them(tmp_path):
    """The view the pages open for an edited list (``bad=`` in the link) carries it into the
    GeoTIFF and ENVI exports, which GDAL reads back band by band."""
    import zipfile

    import rasterio

    from cubescope import export
    from cubescope_ui import data

    view = data.open_cube(data.view_id(data.DEMO_ID, "3-5,40"))
    expected = np.zeros(view.n_bands, bool)
    expected[[3, 4, 5, 40]] = True
    np.testing.assert_array_equal(view.bad_bands, expected)
    bsq = np.stack([view.band(b) for b in range(view.n_bands)])
    fields = {"wavelengths": view.wavelengths, "wavelength_units": view.wavelength_units,
              "bad_bands": view.bad_bands, "geo": view.geo}
    tif = tmp_path / "view.tif"
    tif.write_bytes(export.to_tiff(bsq, **fields))
    with rasterio.open(tif) as ds:
        assert [ds.tags(b + 1)["bbl"] for b in range(ds.count)] == ["0" if bad else "1" for bad in expected]
    with zipfile.ZipFile(io.BytesIO(export.envi_zip(bsq, "view", **fields))) as archive:
        archive.extractall(tmp_path)
    with rasterio.open(tmp_path / "view.img") as ds:
        bbl = ds.tags(ns="ENVI")["bbl"].strip("{}").split(",")
        assert [int(float(v)) for v in bbl] == [0 if bad else 1 for bad in expected]
