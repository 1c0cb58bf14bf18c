"""Band math: expressions over bands, parsed with Python's ``ast`` against a whitelist.

An expression addresses bands by wavelength (``R860``: the band nearest 860 nm, refused when
none lies within its width) or by 0-based index (``b12``), with numbers, ``+ - * / **``, unary
minus, parentheses and the functions ``abs sqrt log exp min max clip`` (``min``/``max``
elementwise). A named index (:data:`INDICES`) is used whole: ``"NDVI"``.

Nothing is ever evaluated by Python: the parsed tree is walked by :func:`_evaluate`, which knows
only the node types above. There is no ``eval``, ``exec`` or ``numexpr`` on the path.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cubescope.cube import CHUNK_BYTES, Cube
from cubescope.errors import CubeError
from cubescope.products import Compute, Product

#: Named indices: name -> expression (wavelengths in nm). The sources are in :data:`INDEX_SOURCES`.
INDICES: dict[str, str] = {
    "NDVI": "(R860 - R650) / (R860 + R650)",
    "NDWI": "(R560 - R860) / (R560 + R860)",
    "NDRE": "(R790 - R720) / (R790 + R720)",
    "AlOH clay": "(R2165 + R2260) / R2205",
    "MgOH carbonate": "(R2205 + R2395) / (R2260 + R2330)",
    "ferric iron": "R660 / R560",
}
#: Where each named index comes from.
INDEX_SOURCES: dict[str, str] = {
    "NDVI": "Rouse et al. (1974), Monitoring vegetation systems in the Great Plains with ERTS, NASA SP-351",
    "NDWI": "McFeeters (1996), Int. J. Remote Sensing 17(7), 1425-1432 (green and NIR: open water)",
    "NDRE": "Barnes et al. (2000), Proc. 5th Int. Conf. Precision Agriculture (normalised difference red edge)",
    "AlOH clay": "Cudahy (2012), Satellite ASTER Geoscience Product Notes, CSIRO: AlOH group content "
                 "(B5 + B7) / B6 at ASTER's SWIR band centres",
    "MgOH carbonate": "Cudahy (2012), ASTER Geoscience Product Notes: MgOH group content (B6 + B9) / (B7 + B8); "
                      "Rowan & Mars (2003), Remote Sens. Environ. 84, 350-366",
    "ferric iron": "Cudahy (2012), ASTER Geoscience Product Notes: ferric oxide content B2 / B1; "
                   "Rowan & Mars (2003)",
}
#: Longest expression accepted (characters): refused before parsing.
MAX_EXPRESSION = 2000
#: Most nodes an expression may have.
MAX_NODES = 500

_WAVELENGTH = re.compile(r"^[Rr](\d+(?:\.\d+)?)$")
_INDEX = re.compile(r"^[bB](\d+)$")
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power,
}
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "abs": (np.abs, 1, 1), "sqrt": (np.sqrt, 1, 1), "log": (np.log, 1, 1), "exp": (np.exp, 1, 1),
    "min": (np.minimum, 2, 2), "max": (np.maximum, 2, 2), "clip": (np.clip, 3, 3),
}


@dataclass(frozen=True)
class Expression:
    """A checked band-math expression: its tree and the bands it reads.

    Attributes
    ----------
    text : str
        The expression as given (a named index expanded).
    bands : tuple of int
        The cube bands the expression reads, 0-based.
    """

    text: str
    tree: ast.Expression
    bands: tuple[int, ...]
    names: Mapping[str, int]


def parse(cube: Cube, expression: str) -> Expression:
    """Check ``expression`` against the cube and the whitelist; no band is read.

    Raises
    ------
    CubeError
        Saying what is wrong: a name that is neither a band nor an index, a wavelength with no
        band near it, a band index outside the cube, a construct not allowed.
    """
    if not isinstance(expression, str):
        raise CubeError("A band-math expression is text, like (R860 - R650) / (R860 + R650).")
    text = expression.strip()
    if not text:
        raise CubeError("Type an expression, like (R860 - R650) / (R860 + R650), or choose a named index.")
    if len(text) > MAX_EXPRESSION:
        raise CubeError(f"The expression is {len(text):,} characters long; at most {MAX_EXPRESSION:,} are read.")
    named = _named_index(text)
    if named is not None:
        text = INDICES[named]
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CubeError(f"The expression cannot be read: {getattr(exc, 'msg', exc)}.") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise CubeError(f"The expression has {len(nodes)} parts; at most {MAX_NODES} are evaluated.")
    names: dict[str, int] = {}
    _check(tree.body, cube, names, depth=0)
    return Expression(text, tree, tuple(sorted(set(names.values()))), names)


def link_expression(text: str, context: Any = None) -> str:
    """An expression as a share link gives it (a link setting's parser, see
    :mod:`cubescope.state`): any text of 1 to :data:`MAX_EXPRESSION` characters; what it means
    is checked against the cube (:func:`parse`) where it is used.

    Raises
    ------
    ValueError
        Saying what is wrong with it.
    """
    if not text.strip():
        raise ValueError("empty")
    if len(text) > MAX_EXPRESSION:
        raise ValueError(f"longer than {MAX_EXPRESSION} characters")
    return text


def link_default_expression(context: Any) -> str:
    """The expression a link without one starts at: :func:`default_expression` of the link's
    cube (``context.cube``), ``b0`` without one."""
    return "b0" if getattr(context, "cube", None) is None else default_expression(context.cube)


def default_expression(cube: Cube) -> str:
    """A first expression that works on ``cube``: NDVI when it has those bands, else its
    default band (``b12``)."""
    try:
        parse(cube, "NDVI")
        return "NDVI"
    except CubeError:
        return f"b{cube.default_band()}"


def _named_index(text: str) -> str | None:
    folded = text.strip().lower()
    return next((name for name in INDICES if name.lower() == folded), None)


def _check(node: ast.AST, cube: Cube, names: dict[str, int], depth: int) -> None:
    if depth > 60:
        raise CubeError("The expression is nested too deeply.")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise CubeError(f"The operator '{_op(node.op)}' is not allowed; use + - * / **.")
        _check(node.left, cube, names, depth + 1)
        _check(node.right, cube, names, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise CubeError(f"'{_op(node.op)}' is not allowed; only a minus sign may stand before a value.")
        _check(node.operand, cube, names, depth + 1)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CubeError(f"{node.value!r} is not a number; an expression holds bands, numbers and functions.")
        try:
            float(node.value)
        except OverflowError:
            raise CubeError("A number in the expression is too large for a float.") from None
    elif isinstance(node, ast.Name):
        names[node.id] = _band_for(node.id, cube)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else "this call"
            raise CubeError(f"'{shown}' is not a function band math knows; use {', '.join(_FUNCTIONS)}.")
        _, low, high = _FUNCTIONS[node.func.id]
        if node.keywords or not low <= len(node.args) <= high:
            raise CubeError(f"{node.func.id}() takes {low} value{'s' if low > 1 else ''}.")
        for argument in node.args:
            _check(argument, cube, names, depth + 1)
    else:
        kind = {ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Compare: "comparisons",
                ast.Lambda: "lambdas", ast.BoolOp: "and/or"}.get(type(node), type(node).__name__)
        raise CubeError(f"The expression uses {kind}, which band math does not allow.")


def _op(op: ast.AST) -> str:
    return {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
            ast.LShift: "<<", ast.RShift: ">>", ast.Not: "not", ast.Invert: "~"}.get(type(op), type(op).__name__)


def _band_for(name: str, cube: Cube) -> int:
    """The band a name addresses: ``R<nm>`` (nearest within its width) or ``b<index>``."""
    match = _INDEX.match(name)
    if match:
        index = int(match.group(1))
        if index >= cube.n_bands:
            raise CubeError(f"{name}: this cube has bands b0 to b{cube.n_bands - 1}.")
        return index
    match = _WAVELENGTH.match(name)
    if match:
        return band_near(cube, float(match.group(1)), name)
    if _named_index(name) is not None:
        raise CubeError(f"'{name}' is a named index; use it alone, or write its bands out.")
    raise CubeError(f"'{name}' is not a band: write R<wavelength in nm> (R860) or b<band index> (b12).")


def band_near(cube: Cube, wavelength_nm: float, name: str = "") -> int:
    """The band nearest ``wavelength_nm``; CubeError when it lies farther than its fwhm (or, with
    no fwhm, than the spacing to its neighbours) from it."""
    what = name or f"{wavelength_nm:g} nm"
    wavelengths = cube.wavelengths_nm
    if wavelengths is None:
        raise CubeError(f"{what}: this cube has no wavelengths in nm; address bands by index (b12).")
    finite = np.isfinite(wavelengths)
    if not finite.any():
        raise CubeError(f"{what}: this cube has no valid wavelengths.")
    distance = np.where(finite, np.abs(wavelengths - wavelength_nm), np.inf)
    band = int(np.argmin(distance))
    reach = _half_width(cube, band)
    if distance[band] > reach:
        raise CubeError(
            f"{what}: the nearest band ({wavelengths[band]:.4g} nm, b{band}) lies {distance[band]:.4g} nm away, "
            f"beyond its width ({reach:.3g} nm). This cube covers {np.nanmin(wavelengths):.4g} to "
            f"{np.nanmax(wavelengths):.4g} nm."
        )
    return band


def _half_width(cube: Cube, band: int) -> float:
    """How far from a band's centre a wavelength still falls in it: its fwhm, or the spacing to
    its nearest neighbours when the file gives none."""
    wavelengths = cube.wavelengths_nm
    if cube.fwhm is not None and np.isfinite(cube.fwhm[band]) and cube.fwhm[band] > 0:
        scale = wavelengths[band] / cube.wavelengths[band] if cube.wavelengths[band] else 1.0
        return float(cube.fwhm[band] * scale)
    others = np.delete(wavelengths, band)
    others = others[np.isfinite(others)]
    if others.size == 0:
        return math.inf
    return float(np.min(np.abs(others - wavelengths[band])))


def band_math(cube: Cube, expression: str, *, max_bytes: int = CHUNK_BYTES) -> np.ndarray:
    """Evaluate a band-math expression over the whole cube.

    Parameters
    ----------
    cube : Cube
    expression : str
        E.g. ``"(R860 - R650) / (R860 + R650)"``, ``"b40 / b12"``, ``"NDVI"``; see the module notes.
    max_bytes : int
        Rows are read in chunks of about this many bytes of bands.

    Returns
    -------
    ndarray, shape (rows, cols), float32 (float64 for float64 cubes)
        NaN where a band read is no data, where a band read is flagged bad (a bad band gives
        no number, never a wrong one) and where the result is not finite (0/0, log of a
        negative value, overflow).

    Examples
    --------
    >>> from cubescope.demo import demo_cube
    >>> ndvi = band_math(demo_cube(), "NDVI")
    >>> ndvi.shape, ndvi.dtype
    ((200, 240), dtype('float32'))
    >>> ratio = band_math(demo_cube(), "(R860 - R650) / (R860 + R650)")
    >>> bool(abs(ratio - ndvi).max() < 1e-6)  # NDVI is that expression at the nearest bands
    True
    """
    parsed = parse(cube, expression)
    bad = [b for b in parsed.bands if cube.bad_bands is not None and cube.bad_bands[b]]
    out = np.empty((cube.rows, cube.cols), dtype=cube.float_dtype)
    if bad:
        out[:] = np.nan
        return out
    bands = parsed.bands or (0,)
    per_row = cube.cols * cube.dtype.itemsize * len(bands)
    step = max(1, max_bytes // max(per_row, 1))
    for start in range(0, cube.rows, step):
        rows = slice(start, min(cube.rows, start + step))
        values = {b: cube.band_window(b, rows, slice(None)).astype(np.float64) for b in parsed.bands}
        result = evaluate(parsed, lambda name, read=values: read[parsed.names[name]])
        out[rows] = np.broadcast_to(result, out[rows].shape)
    return out


def evaluate(parsed: Expression, band: Callable[[str], Any]) -> Any:
    """Evaluate a parsed expression; ``band(name)`` gives the array a band name stands for
    (NumPy or Dask arrays alike). Non-finite results become NaN."""
    with np.errstate(all="ignore"):
        result = _evaluate(parsed.tree.body, band)
        return np.where(np.isfinite(result), result, np.nan)


def _evaluate(node: ast.AST, band: Callable[[str], Any]) -> Any:
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, band), _evaluate(node.right, band))
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, band)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant):
        return np.float64(node.value)  # always a float: 9**9**9 overflows to inf at once
    if isinstance(node, ast.Name):
        return band(node.id)
    if isinstance(node, ast.Call):
        function = _FUNCTIONS[node.func.id][0]
        return function(*(_evaluate(a, band) for a in node.args))
    raise CubeError(f"Unexpected {type(node).__name__} in a checked expression.")  # unreachable: _check refuses it


@dataclass(frozen=True)
class BandMathImage(Product):
    """A band-math expression (or named index) over the whole cube; see :func:`band_math`."""

    expression: str
    doing = "Computing the expression…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        return band_math(cube, self.expression)
