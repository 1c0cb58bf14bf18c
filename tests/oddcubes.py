"""Cubes shaped like real users' files, not like fixtures: the corpus every page must survive."""

from __future__ import annotations

import numpy as np

from cubescope import Cube
from cubescope.geo import Georef


def _scene(rows: int, cols: int, bands: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0.05, 0.6, bands, dtype=np.float32)
    texture = rng.random((rows, cols, 1), dtype=np.float32)
    return base * (0.5 + texture) + 0.01 * rng.standard_normal((rows, cols, bands)).astype(np.float32)


def odd_cubes() -> dict[str, Cube]:
    """Name -> cube, each one a habit of real files."""
    wl = np.linspace(400, 2400, 24)
    cubes: dict[str, Cube] = {}
    cubes["one band"] = Cube.from_array(_scene(30, 40, 1), [550.0], wavelength_units="nm", name="one band")
    cubes["two bands"] = Cube.from_array(_scene(30, 40, 2), [650.0, 850.0], name="two bands")
    nan_band = _scene(30, 40, 24)
    nan_band[:, :, 5] = np.nan
    cubes["all-NaN band"] = Cube.from_array(nan_band, wl, name="all-NaN band")
    half = _scene(30, 40, 24)
    half[:, :20] = np.nan
    half[3, 30, 7] = np.nan  # a lone gap inside a spectrum
    cubes["half NaN"] = Cube.from_array(half, wl, name="half NaN")
    cubes["all NaN"] = Cube.from_array(np.full((10, 12, 6), np.nan, np.float32), name="all NaN")
    cubes["constant"] = Cube.from_array(np.full((20, 25, 8), 7.0, np.float32), name="constant")
    cubes["wide strip"] = Cube.from_array(_scene(40, 1500, 6), name="wide strip")
    cubes["tall strip"] = Cube.from_array(_scene(1500, 40, 6), name="tall strip")
    two_spectrometers = np.r_[np.linspace(400, 675.6, 14), np.linspace(664.1, 1000, 10)]
    cubes["wavelengths step back"] = Cube.from_array(
        _scene(30, 40, 24), two_spectrometers, wavelength_units="nm", name="wavelengths step back"
    )
    cubes["descending wavelengths"] = Cube.from_array(
        _scene(30, 40, 24), wl[::-1], wavelength_units="nm", name="descending wavelengths"
    )
    stored = np.round(_scene(30, 40, 24) * 10000).astype(np.int16)
    stored[0, :5] = -9999
    cubes["int16 scale factor"] = Cube.from_array(
        stored, wl, wavelength_units="nm", nodata=-9999, gain=1e-4, quantity="reflectance", name="int16 scale factor"
    )
    cubes["near float32 max"] = Cube.from_array(_scene(20, 20, 8) * np.float32(3e38), name="near float32 max")
    bad = np.ones(24, bool)
    bad[3] = False
    cubes["one good band"] = Cube.from_array(_scene(20, 20, 24), wl, bad_bands=bad, name="one good band")
    # Placed on the Earth: an AVIRIS-NG-like rotated UTM grid, and a swath across the antimeridian
    # with a hole in its coordinates (as PACE's navigation fill values leave).
    rotated = Georef(30, 40, crs="EPSG:32611", geotransform=(724522.1, 1.06, 0.28, 4074620.8, 0.28, -1.06))
    cubes["rotated map grid"] = Cube.from_array(_scene(30, 40, 24), wl, geo=rotated, name="rotated map grid")
    lon, lat = np.meshgrid(np.linspace(179.95, 180.05, 40), np.linspace(-16.0, -16.1, 30))
    lat[0, 0] = np.nan
    swath = Georef(30, 40, lonlat=np.stack([lon, lat]))
    cubes["swath across the antimeridian"] = Cube.from_array(_scene(30, 40, 24), wl, geo=swath,
                                                             name="swath across the antimeridian")
    return cubes
