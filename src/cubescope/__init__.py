"""Cubescope: look into hyperspectral and multispectral image cubes.

The processing package behind the Cubescope dashboard; every function works on its own, from
a notebook or a script::

    import cubescope
    cube = cubescope.load_cube("scene.hdr")
    image = cube.band(40)           # (rows, cols) floats, no-data as NaN
    spectrum = cube.spectrum(10, 20)
"""

from cubescope.cluster import kmeans
from cubescope.continuum import band_depth, continuum_removed
from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.indices import INDICES, band_math
from cubescope.io import load_cube
from cubescope.library import SpectralLibrary, load_library, resample_spectra, spectral_angles
from cubescope.mnf import mnf
from cubescope.roi import ROI
from cubescope.unmixing import atgp, unmix

__all__ = ["INDICES", "ROI", "Cube", "CubeError", "SpectralLibrary", "atgp", "band_depth", "band_math",
           "continuum_removed", "kmeans", "load_cube", "load_library", "mnf", "resample_spectra", "spectral_angles",
           "unmix"]
__version__ = "0.1.0"
