"""Cubescope: look into hyperspectral and multispectral image cubes.

The processing package behind the Cubescope dashboard; every function works on its own, from
a notebook or a script::

    import cubescope
    cube = cubescope.load_cube("scene.hdr")
    image = cube.band(40)           # (rows, cols) floats, no-data as NaN
    spectrum = cube.spectrum(10, 20)
"""

from importlib import import_module
from typing import Any

from cubescope.cluster import kmeans
from cubescope.cube import Cube
from cubescope.errors import CubeError, SeveralCubes
from cubescope.indices import INDICES, band_math
from cubescope.io import load_cube
from cubescope.mnf import mnf
from cubescope.roi import ROI
from cubescope.unmixing import atgp, unmix

#: Names whose modules load Numba and scipy.special: imported on first use, so that opening
#: and storing cubes (a child process per upload) does not pay for them.
_LAZY = {"band_depth": "continuum", "continuum_removed": "continuum", "SpectralLibrary": "library",
         "load_library": "library", "resample_spectra": "library", "spectral_angles": "library",
         "undefined_continuum": "continuum", "fit_autoencoder": "compress", "fourier_codec": "compress",
         "rx": "detect", "matched_filter": "detect", "ace": "detect", "cem": "detect",
         "fit_classifier": "classify"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"cubescope.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'cubescope' has no attribute {name!r}")

__all__ = ["INDICES", "ROI", "Cube", "CubeError", "SeveralCubes", "SpectralLibrary", "ace", "atgp", "band_depth",
           "band_math", "cem", "continuum_removed", "fit_autoencoder", "fit_classifier", "fourier_codec", "kmeans",
           "load_cube", "load_library", "matched_filter", "mnf", "resample_spectra", "rx", "spectral_angles",
           "undefined_continuum", "unmix"]
__version__ = "0.1.0"
