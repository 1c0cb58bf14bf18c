"""Images computed from a cube, described by small typed objects: what is computed, from which
parameters, and how.

Each analysis module defines its own (``smoothing.SavgolImage``, ``pca.PCImage``, …). A user
interface caches them by :attr:`Product.key` and hands :meth:`Product.image` a ``compute``
that remembers intermediate results (a fitted PCA shared by its score images); from a notebook,
:func:`direct` computes everything afresh.

Examples
--------
>>> from cubescope.demo import demo_cube
>>> from cubescope.products import Band, direct
>>> cube = demo_cube()
>>> Band(12).image(cube, direct(cube)).shape
(200, 240)
>>> Band(12).key
('cubescope.products.Band', 12)
>>> Band(12).name
'band-12'
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from cubescope.cube import Cube
from cubescope.viewport import Window, crop

#: ``compute(function, *args, **follows)`` returns ``function(cube, *args, **follows)``, maybe
#: remembered by ``args``: ``follows`` hold only what ``args`` determine (a model fitted from them).
Compute = Callable[..., Any]


def direct(cube: Cube) -> Compute:
    """A ``compute`` that remembers nothing: ``function(cube, *args, **follows)``."""
    def compute(function: Callable[..., Any], *args: Any, **follows: Any) -> Any:
        return function(cube, *args, **follows)
    return compute


def applied(cube: Cube, model: Any, method: str = "transform") -> Any:
    """``model.<method>(cube)``: a fitted model's images of a cube (its scores, say), for a
    ``compute`` to remember by the model's parameters."""
    return getattr(model, method)(cube)


@dataclass(frozen=True, eq=False)
class Product:
    """An image ``(rows, cols)`` computed from a cube.

    Subclasses are frozen dataclasses whose fields are the parameters. A field declared with
    ``compare=False`` is carried along but is not part of the key (results that another field
    names). One holding arrays is declared with ``eq=False``: it is then equal only to itself,
    and :attr:`key` (arrays by value) is what names it.
    """

    #: What a progress message says while the image is computed.
    doing: ClassVar[str] = "Computing the image…"
    #: Whether a user interface keeps the whole image once computed (False: read it again from
    #: the cube each time, as a band is, so that only the window shown is ever read).
    held: ClassVar[bool] = True

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        """The whole image, ``(rows, cols)``."""
        raise NotImplementedError

    def samples(self, cube: Cube, window: Window, step: int, whole: Callable[[], np.ndarray]) -> np.ndarray:
        """The samples of ``window`` at every ``step``-th pixel; ``whole()`` gives the whole
        image (from a cache, when the caller keeps one)."""
        return crop(whole(), window, step)

    @property
    def key(self) -> tuple:
        """The product's kind and parameters: equal keys name the same image of a cube."""
        kind = f"{type(self).__module__}.{type(self).__qualname__}"
        return (kind, *(getattr(self, f.name) for f in fields(self) if f.compare))

    @property
    def name(self) -> str:
        """A short text naming the image, for a browser to tell images apart: its kind and
        parameters (``band-21``), or a digest of them when they are arrays or long."""
        kind = type(self).__qualname__.lower()
        parameters = self.key[1:]
        text = "-".join(str(v) for v in parameters)
        if len(text) > 80 or any(isinstance(v, np.ndarray) for v in parameters):
            text = hashlib.sha1(pickle.dumps(parameters, protocol=5)).hexdigest()[:16]
        return f"{kind}-{text}"


@dataclass(frozen=True)
class Band(Product):
    """One band of the cube as it is stored (scaled, bad values as NaN)."""

    band: int
    held: ClassVar[bool] = False

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        return cube.band(self.band)

    def samples(self, cube: Cube, window: Window, step: int, whole: Callable[[], np.ndarray]) -> np.ndarray:
        return cube.band_window(self.band, *window.slices(step))
