"""Cubescope: look into hyperspectral and multispectral image cubes.

The processing package behind the Cubescope dashboard; every function works on its own, from
a notebook or a script::

    import cubescope
    cube = cubescope.load_cube("scene.hdr")
    image = cube.band(40)           # (rows, cols) floats, no-data as NaN
    spectrum = cube.spectrum(10, 20)
"""

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io import load_cube

__all__ = ["Cube", "CubeError", "load_cube"]
__version__ = "0.1.0"
