"""A deterministic demo scene: a small synthetic cube with real-looking materials.

The scene is 200 x 240 pixels and 128 bands from 400 to 2500 nm: a field of vegetation
(red edge at ~720 nm, chlorophyll well at 670 nm, water bands at 1450 and 1940 nm), a bare
soil patch, a lake with a shallow margin, a road, and a roof, mixed at their borders, with
a little sensor noise. Reflectance is in 0..1 as float32. It lies on a 5 m UTM grid in the
farmland of California's Central Valley (zone 10 North), so the map means something, and
:func:`demo_library` holds its materials, so library matching does too. It needs no files and
takes about a tenth of a second to build.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.geo import Georef

DEMO_SHAPE = (200, 240, 128)  # rows, cols, bands
DEMO_WAVELENGTHS_NM = np.linspace(400.0, 2500.0, DEMO_SHAPE[2])
#: Where the demo lies: WGS 84 / UTM zone 10N, 5 m pixels, the top left corner near Davis, CA.
DEMO_CRS = "EPSG:32610"
DEMO_GEOTRANSFORM = (609_000.0, 5.0, 0.0, 4_269_000.0, 0.0, -5.0)


def _gauss(w: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((w - centre) / width) ** 2)


def material_spectra(wavelengths_nm: np.ndarray = DEMO_WAVELENGTHS_NM) -> dict[str, np.ndarray]:
    """Reflectance (0..1) of the demo's materials on the given wavelengths (nm)."""
    w = np.asarray(wavelengths_nm, dtype=float)
    water_absorption = 1 - 0.55 * _gauss(w, 1450, 60) - 0.75 * _gauss(w, 1940, 80)
    red_edge = 1 / (1 + np.exp(-(w - 715) / 18))
    vegetation = (
        0.04
        + 0.06 * _gauss(w, 550, 35)
        - 0.02 * _gauss(w, 670, 25)
        + 0.42 * red_edge * (1 - 0.35 * (w > 1300) * (w - 1300) / 1200)
    ) * water_absorption
    soil = (0.08 + 0.28 * (1 - np.exp(-(w - 400) / 700))) * (
        1 - 0.12 * _gauss(w, 1420, 50) - 0.18 * _gauss(w, 1920, 70) - 0.08 * _gauss(w, 2200, 40)
    )
    water = 0.06 * np.exp(-(w - 450) / 120) + 0.005
    shallow = 0.5 * water + 0.5 * (0.12 + 0.1 * _gauss(w, 560, 60)) * np.exp(-(w - 500) / 400)
    asphalt = 0.05 + 0.07 * (w - 400) / 2100
    roof = 0.25 + 0.15 * _gauss(w, 800, 300) - 0.1 * _gauss(w, 2300, 150)
    return {
        "vegetation": vegetation,
        "soil": soil,
        "water": water,
        "shallow water": shallow,
        "asphalt": asphalt,
        "roof": roof,
    }


def demo_abundances(shape: tuple[int, int] = DEMO_SHAPE[:2]) -> dict[str, np.ndarray]:
    """Per-pixel fraction of each material; fractions sum to 1 at every pixel."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols].astype(float)
    y /= rows
    x /= cols
    lake = np.clip((0.22 - np.hypot((x - 0.72) / 1.2, y - 0.32)) / 0.03, 0, 1)
    margin = np.clip((0.27 - np.hypot((x - 0.72) / 1.2, y - 0.32)) / 0.03, 0, 1) - lake
    road = np.clip(1 - np.abs(y - 0.72 - 0.15 * np.sin(6 * x)) / 0.025, 0, 1)
    roof = ((np.abs(x - 0.2) < 0.08) & (np.abs(y - 0.25) < 0.06)).astype(float)
    soil_patch = np.clip((0.16 - np.hypot(x - 0.3, y - 0.8)) / 0.05, 0, 1)
    taken = np.clip(lake + margin + road + roof + soil_patch, 0, 1)
    scale = np.where(lake + margin + road + roof + soil_patch > 1, 1 / np.maximum(
        lake + margin + road + roof + soil_patch, 1e-9), 1.0)
    fractions = {
        "water": lake * scale,
        "shallow water": margin * scale,
        "asphalt": road * scale,
        "roof": roof * scale,
        "soil": soil_patch * scale,
    }
    # The rest is a field whose cover thins towards the south-west, mixing in soil.
    rest = 1 - taken
    cover = 0.55 + 0.45 * np.clip(x + (1 - y), 0, 1.6) / 1.6
    fractions["vegetation"] = rest * cover
    fractions["soil"] = fractions["soil"] + rest * (1 - cover)
    return fractions


def demo_cube(seed: int = 7, noise: float = 0.004) -> Cube:
    """The demo scene as a :class:`~cubescope.cube.Cube` (float32 reflectance, nm)."""
    rows, cols, bands = DEMO_SHAPE
    spectra = material_spectra()
    fractions = demo_abundances()
    bsq = np.zeros((bands, rows, cols), dtype=np.float32)
    for material, abundance in fractions.items():
        bsq += spectra[material].astype(np.float32)[:, None, None] * abundance.astype(np.float32)
    rng = np.random.default_rng(seed)
    # Gentle illumination variation across the scene, then sensor noise.
    y = np.linspace(0.95, 1.05, rows, dtype=np.float32)
    bsq *= y[None, :, None]
    bsq += rng.normal(0.0, noise, size=bsq.shape).astype(np.float32)
    return Cube(
        bsq,
        name="demo scene",
        wavelengths=DEMO_WAVELENGTHS_NM,
        wavelength_units="nm",
        fwhm=np.full(bands, 16.5),
        quantity="reflectance",
        metadata={"description": "Synthetic scene: vegetation, soil, lake, road and a roof.",
                  "place": "made up: a plausible 5 m UTM grid (zone 10N) for the map"},
        geo=Georef(rows, cols, crs=DEMO_CRS, geotransform=DEMO_GEOTRANSFORM),
    )


def demo_library() -> Any:
    """The demo's materials as a spectral library at 2 nm (a lab spectrometer's sampling), so the
    Library page opens on a class map: resampled to the demo's bands like any library.

    Returns
    -------
    SpectralLibrary
        Six spectra (vegetation, soil, water, shallow water, asphalt, roof) on 1051 wavelengths.
    """
    from cubescope.library import SpectralLibrary

    wavelengths = np.arange(400.0, 2500.1, 2.0)
    spectra = material_spectra(wavelengths)
    return SpectralLibrary(list(spectra), np.array(list(spectra.values())), wavelengths, np.full(wavelengths.size, 2.0),
                           {"source": "the demo scene's own materials"})
