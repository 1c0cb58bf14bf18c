"""Analysis state in a URL query string: the cube, every page's settings, pinned pixels,
region and zoom window; validated both ways.

Everything read from a URL is untrusted. Parsing never raises: it returns what is valid and a
list of problems in words a page can show (as text), each naming the value refused and what is
used instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from cubescope.display import COLORMAPS, STRETCHES
from cubescope.viewport import Window

MAX_PINS = 8
#: Longest query value read; anything longer is refused unread.
MAX_VALUE_LENGTH = 400
_PIXEL = re.compile(r"^(\d{1,7})-(\d{1,7})$")
_REGION = re.compile(r"^(\d{1,7})-(\d{1,7})-(\d{1,7})-(\d{1,7})$")
_CUBE_ID = re.compile(r"^(demo|[0-9a-f]{32})$")
_INT = re.compile(r"^\d{1,7}$")
_INTS = re.compile(r"^\d{1,7}(,\d{1,7}){0,63}$")


def encode_pins(pins: Sequence[Sequence[int]]) -> str:
    """``[[10, 20], [150, 100]]`` -> ``"10-20,150-100"`` (row-col pairs)."""
    return ",".join(f"{int(r)}-{int(c)}" for r, c in pins)


def decode_pins(text: object, rows: int, cols: int, limit: int = MAX_PINS) -> tuple[list[list[int]], list[str]]:
    """Pins from ``"r-c,r-c"``: those inside a ``rows`` x ``cols`` image, at most ``limit``."""
    if not isinstance(text, str) or not text:
        return [], []
    if len(text) > MAX_VALUE_LENGTH:
        return [], [f"The link's pixel list is too long; at most {limit} pixels can be pinned."]
    pins, problems = [], []
    for item in text.split(","):
        match = _PIXEL.match(item.strip())
        if not match:
            problems.append(f"'{item[:30]}' in the link is not a pixel (expected row-column, e.g. 10-20).")
            continue
        row, col = int(match[1]), int(match[2])
        if row >= rows or col >= cols:
            problems.append(f"Pixel ({row}, {col}) lies outside this {rows} x {cols} image.")
        elif [row, col] not in pins:
            pins.append([row, col])
    if len(pins) > limit:
        problems.append(f"The link pins {len(pins)} pixels; the first {limit} are kept.")
        pins = pins[:limit]
    return pins, problems


def encode_region(region: Sequence[int]) -> str:
    """``[row0, row1, col0, col1]`` (end-exclusive) -> ``"row0-row1-col0-col1"``."""
    return "-".join(str(int(v)) for v in region)


def decode_region(text: object, rows: int, cols: int) -> tuple[list[int] | None, list[str]]:
    """A rectangle from ``"r0-r1-c0-c1"``, clipped to the image; None when absent or invalid."""
    if not isinstance(text, str) or not text:
        return None, []
    match = _REGION.match(text.strip()[:MAX_VALUE_LENGTH])
    if not match:
        return None, [f"'{text[:30]}' in the link is not a region (expected row0-row1-col0-col1)."]
    r0, r1, c0, c1 = (int(v) for v in match.groups())
    r1, c1 = min(r1, rows), min(c1, cols)
    if r0 >= r1 or c0 >= c1:
        return None, ["The link's region lies outside this image or is empty."]
    return [r0, r1, c0, c1], []


def valid_cube_id(text: object) -> bool:
    """``"demo"`` or 32 lower-case hex digits: never a path, never anything else."""
    return isinstance(text, str) and bool(_CUBE_ID.match(text))


def normal_cube_id(text: object) -> str:
    """A cube id as typed or linked, in the one spelling the store uses (ids are hexadecimal,
    so ``ABC…`` and ``abc…`` name the same cube); unchanged when it is not a string."""
    return text.strip().lower()[:64] if isinstance(text, str) else ""


def encode_window(window: Window) -> str:
    """``Window(10, 50, 0, 40)`` -> ``"10-50-0-40"``."""
    return encode_region(window.as_list())


def decode_window(text: object, rows: int, cols: int) -> tuple[Window | None, list[str]]:
    """A zoom window from ``"r0-r1-c0-c1"``, moved inside the image; None (the whole image)
    when absent, invalid or the whole image."""
    if not isinstance(text, str) or not text:
        return None, []
    match = _REGION.match(text.strip()[:MAX_VALUE_LENGTH])
    if not match or int(match[1]) >= int(match[2]) or int(match[3]) >= int(match[4]):
        return None, [f"'{text[:30]}' in the link is not a zoom window (expected row0-row1-col0-col1); "
                      "the whole image is shown."]
    window = Window(*(int(v) for v in match.groups())).fitted(rows, cols)
    return (None if window.is_whole(rows, cols) else window), []


@dataclass(frozen=True)
class LinkContext:
    """What the settings of a link are checked against: the open cube's size and defaults."""

    rows: int
    cols: int
    n_bands: int
    usable_bands: int
    default_band: int = 0
    rgb_bands: tuple[int, int, int] = (0, 0, 0)
    uniform_spacing: bool = True
    band_label: Callable[[int], str] = field(default=lambda i: f"band {i}", compare=False)
    #: What the band-math page starts with: a named index the cube can compute, else a band.
    default_expression: str = "b0"
    #: The cube's wavelength range in nm (None without wavelengths), for absorption features.
    wavelength_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Setting:
    """One page setting in the link: how it reads from text, its default, how it is written."""

    what: str
    parse: Callable[[str, LinkContext], Any]
    default: Callable[[LinkContext], Any]
    encode: Callable[[Any], str] = str
    show: Callable[[Any, LinkContext], str] = lambda value, context: str(value)


def _choice(options: Sequence[str]) -> Callable[[str, LinkContext], str]:
    def parse(text: str, context: LinkContext) -> str:
        if text not in options:
            raise ValueError(f"not one of {', '.join(options)}")
        return text
    return parse


def _int(low: Callable[[LinkContext], int], high: Callable[[LinkContext], int],
         odd: bool = False) -> Callable[[str, LinkContext], int]:
    def parse(text: str, context: LinkContext) -> int:
        if not _INT.match(text):
            raise ValueError("not a whole number")
        value, lo, hi = int(text), low(context), high(context)
        if not lo <= value <= hi:
            raise ValueError(f"outside {lo} to {hi}")
        if odd and value % 2 == 0:
            raise ValueError("not an odd number")
        return value
    return parse


def _band(text: str, context: LinkContext) -> int:
    if not _INT.match(text):
        raise ValueError("not a band number")
    if int(text) >= context.n_bands:
        raise ValueError(f"this cube has bands 0 to {context.n_bands - 1}")
    return int(text)


def _float(text: str, context: LinkContext) -> float:
    try:
        value = float(text[:40])
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _percentiles(text: str, context: LinkContext) -> tuple[float, float]:
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError("not two percentiles (expected low-high, e.g. 2-98)")
    low, high = (_float(p, context) for p in parts)
    if not 0 <= low < high <= 100:
        raise ValueError("not 0 <= low < high <= 100")
    return low, high


def _expression(text: str, context: LinkContext) -> str:
    if not text.strip():
        raise ValueError("empty")
    if len(text) > 2000:
        raise ValueError("longer than 2000 characters")
    return text


def default_feature(context: LinkContext) -> tuple[float, float] | None:
    """The absorption feature the Continuum page starts at: the Al-OH clay feature at 2200 nm
    (2120-2250 nm) when the cube covers it, else the middle third of its range."""
    if context.wavelength_range is None:
        return None
    low, high = context.wavelength_range
    if low <= 2120 and high >= 2250:
        return 2120.0, 2250.0
    third = (high - low) / 3
    return round(low + third, 1), round(high - third, 1)


def _feature(text: str, context: LinkContext) -> tuple[float, float]:
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError("not two wavelengths (expected left-right in nm, e.g. 2120-2250)")
    low, high = (_float(p, context) for p in parts)
    if context.wavelength_range is None:
        raise ValueError("this cube has no wavelengths in nm")
    first, last = context.wavelength_range
    if not first <= low < high <= last:
        raise ValueError(f"not within {first:g}-{last:g} nm with left < right")
    return low, high


def _angle(text: str, context: LinkContext) -> float:
    value = _float(text, context)
    if not 0 < value <= math.pi:
        raise ValueError("not an angle between 0 and π radians")
    return value


def _bool(text: str, context: LinkContext) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("neither true nor false")
    return text.lower() == "true"


def _components(text: str, context: LinkContext) -> list[int]:
    if not _INTS.match(text):
        raise ValueError("not a list of component numbers")
    values = [int(v) for v in text.split(",")]
    if max(values) >= MAX_COMPONENTS:
        raise ValueError(f"components are numbered 0 to {MAX_COMPONENTS - 1}")
    return sorted(set(values))


def _number(value: float) -> str:
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(float(value))


def _band_shown(value: int, context: LinkContext) -> str:
    return context.band_label(value)


#: The most principal components the PCA page fits.
MAX_COMPONENTS = 20
#: Savitzky-Golay derivative orders as the Smoothing page names them.
DERIVATIVES = ("none", "1st", "2nd", "3rd")
BAND_VIEWS = ("Band", "RGB")
PCA_VIEWS = ("PC image", "RGB of PCs", "Reconstruction error", "MNF image")
#: What the Library page shows.
LIBRARY_VIEWS = ("Class map", "Angle to one reference")
#: What the Classes page shows, and where its endmembers come from.
CLASS_VIEWS = ("k-means classes", "Unmixing")
ENDMEMBER_SOURCES = ("Pins, region and ROIs", "ATGP (from the image)", "k-means class means", "Library")
#: The compressions the Compression page compares.
COMPRESSIONS = ("PCA", "autoencoder", "Fourier")
#: What the Map page draws.
MAP_LAYERS = ("Band", "RGB", "Savitzky-Golay", "PC image")


def longest_window(n_bands: int) -> int:
    """The longest Savitzky-Golay window offered: odd, at most the bands and at most 101."""
    return max(3, min(n_bands - (1 - n_bands % 2), 101))


def _stretch_settings(prefix: str) -> dict[str, Setting]:
    channel_ranges = {
        f"{prefix}range_{c}_{end}": Setting(f"{name} {end} value", _float, lambda c: None, encode=_number)
        for c, name in (("r", "red"), ("g", "green"), ("b", "blue")) for end in ("low", "high")
    }
    return {
        **channel_ranges,
        f"{prefix}stretch": Setting("stretch", _choice(STRETCHES), lambda c: "percentile"),
        f"{prefix}pct": Setting("percentiles", _percentiles, lambda c: (2.0, 98.0),
                                encode=lambda v: f"{_number(v[0])}-{_number(v[1])}",
                                show=lambda v, c: f"{v[0]:g}-{v[1]:g}"),
        f"{prefix}vmin": Setting("low value", _float, lambda c: None, encode=_number),
        f"{prefix}vmax": Setting("high value", _float, lambda c: None, encode=_number),
        f"{prefix}cmap": Setting("colormap", _choice(COLORMAPS), lambda c: "gray"),
    }


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


#: Every page setting a link carries, by query key (the key is also the widget's key).
SETTINGS: dict[str, Setting] = {
    "view": Setting("view", _choice(BAND_VIEWS), lambda c: "Band"),
    "map_show": Setting("map layer", _choice(MAP_LAYERS), lambda c: "Band"),
    "band": Setting("band", _band, lambda c: c.default_band, show=_band_shown),
    "rgb_r": Setting("red band", _band, lambda c: c.rgb_bands[0], show=_band_shown),
    "rgb_g": Setting("green band", _band, lambda c: c.rgb_bands[1], show=_band_shown),
    "rgb_b": Setting("blue band", _band, lambda c: c.rgb_bands[2], show=_band_shown),
    **_stretch_settings(""),
    "sg_window": Setting("Savitzky-Golay window", _int(lambda c: 3, lambda c: longest_window(c.n_bands), odd=True),
                         lambda c: min(11, longest_window(c.n_bands))),
    "sg_degree": Setting("Savitzky-Golay degree", _int(lambda c: 0, lambda c: 10), lambda c: 3),
    "sg_deriv": Setting("derivative", _choice(DERIVATIVES), lambda c: "none"),
    "sg_exact": Setting("fit on true wavelengths", _bool, lambda c: not c.uniform_spacing, encode=_bool_text),
    "pca_k": Setting("number of components", _int(lambda c: 1, lambda c: max(1, min(MAX_COMPONENTS, c.usable_bands))),
                     lambda c: max(1, min(5, c.usable_bands))),
    "pca_region": Setting("fit on the region", _bool, lambda c: False, encode=_bool_text),
    "pca_view": Setting("PCA view", _choice(PCA_VIEWS), lambda c: "PC image"),
    "pc": Setting("component", _int(lambda c: 1, lambda c: MAX_COMPONENTS), lambda c: 1),
    "pca_rgb_red": Setting("red component", _int(lambda c: 0, lambda c: MAX_COMPONENTS - 1), lambda c: 0),
    "pca_rgb_green": Setting("green component", _int(lambda c: 0, lambda c: MAX_COMPONENTS - 1), lambda c: 1),
    "pca_rgb_blue": Setting("blue component", _int(lambda c: 0, lambda c: MAX_COMPONENTS - 1), lambda c: 2),
    "pca_loadings": Setting("loadings shown", _components, lambda c: [0, 1, 2],
                            encode=lambda v: ",".join(str(int(i)) for i in v)),
    **_stretch_settings("pca_"),
    "stored": Setting("show stored values", _bool, lambda c: False, encode=_bool_text),
    "bm_expr": Setting("band-math expression", _expression, lambda c: c.default_expression),
    **_stretch_settings("bm_"),
    "cr_feature": Setting("absorption feature", _feature, default_feature,
                          encode=lambda v: f"{_number(v[0])}-{_number(v[1])}",
                          show=lambda v, c: f"{v[0]:g}-{v[1]:g} nm"),
    **_stretch_settings("cr_"),
    "sam_view": Setting("library view", _choice(LIBRARY_VIEWS), lambda c: LIBRARY_VIEWS[0]),
    "sam_ref": Setting("reference", _int(lambda c: 0, lambda c: 9999), lambda c: 0),
    "sam_threshold": Setting("largest angle of a match", _angle, lambda c: 0.1, encode=_number),
    **_stretch_settings("sam_"),
    "um_view": Setting("classes view", _choice(CLASS_VIEWS), lambda c: CLASS_VIEWS[0]),
    "um_k": Setting("number of classes", _int(lambda c: 2, lambda c: 12), lambda c: 5),
    "um_seed": Setting("seed", _int(lambda c: 0, lambda c: 9999), lambda c: 0),
    "um_source": Setting("endmembers from", _choice(ENDMEMBER_SOURCES), lambda c: ENDMEMBER_SOURCES[1]),
    "um_n": Setting("number of endmembers", _int(lambda c: 2, lambda c: 10), lambda c: 4),
    "um_sum": Setting("abundances sum to one", _bool, lambda c: True, encode=_bool_text),
    "um_image": Setting("abundance image", _int(lambda c: 0, lambda c: 10), lambda c: 0),
    **_stretch_settings("um_"),
    "cz_k": Setting("code size", _int(lambda c: 1, lambda c: max(1, min(MAX_COMPONENTS, c.usable_bands))),
                    lambda c: max(1, min(5, c.usable_bands))),
    "cz_region": Setting("fit on the region", _bool, lambda c: False, encode=_bool_text),
    "cz_seed": Setting("seed", _int(lambda c: 0, lambda c: 9999), lambda c: 0),
    "cz_codes": Setting("codes of", _choice(COMPRESSIONS), lambda c: COMPRESSIONS[1]),
    "cz_std": Setting("standardization", _choice(("z-score", "min-max")), lambda c: "z-score"),
}


def default_setting(key: str, context: LinkContext) -> Any:
    """The value a page starts ``key`` at for this cube."""
    return SETTINGS[key].default(context)


def read_settings(query: Mapping[str, str], context: LinkContext) -> tuple[dict[str, Any], list[str]]:
    """The page settings of a link: those that are valid for this cube, and one problem per
    refused value naming it and the default used instead. Unknown keys are ignored."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, setting in SETTINGS.items():
        text = query.get(key)
        if text is None:
            continue
        text = str(text)
        try:
            if len(text) > MAX_VALUE_LENGTH:
                raise ValueError("too long")
            values[key] = setting.parse(text.strip(), context)
        except ValueError as why:
            default = setting.default(context)
            instead = "the image's own range" if default is None else setting.show(default, context)
            problems.append(f"The link's {setting.what} '{text[:30]}' cannot be used ({why}); "
                            f"{instead} is used instead.")
    return values, problems


#: Prefixes of the stretch settings of each image (the Bands page's has none).
STRETCH_PREFIXES = tuple(key.removesuffix("stretch") for key in SETTINGS if key.endswith("stretch"))


def write_settings(values: Mapping[str, Any], context: LinkContext) -> dict[str, str]:
    """Query entries for the settings that differ from their defaults, in :data:`SETTINGS` order;
    a stretch's parameters only while that stretch is chosen (a link keeps no unused value)."""
    unused = set()
    for prefix in STRETCH_PREFIXES:
        method = values.get(f"{prefix}stretch", "percentile")
        unused |= {f"{prefix}pct"} if method != "percentile" else set()
        if method != "range":
            unused |= {f"{prefix}vmin", f"{prefix}vmax"}
            unused |= {f"{prefix}range_{c}_{end}" for c in "rgb" for end in ("low", "high")}
    out = {}
    for key, setting in SETTINGS.items():
        value = values.get(key)
        if value is None or key in unused:
            continue
        default = setting.default(context)
        if isinstance(value, tuple | list):
            same = isinstance(default, tuple | list) and list(value) == list(default)
        else:
            same = value == default
        if not same:
            out[key] = setting.encode(value)
    return out


def share_link(base_url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """The address that reopens the analysis: ``base_url`` plus the query parameters
    (repeated keys for lists, as Streamlit writes range sliders)."""
    query = urlencode([(k, v) for k, values in params.items()
                       for v in ([values] if isinstance(values, str) else values)])
    return f"{base_url.split('?', 1)[0]}?{query}" if query else base_url.split("?", 1)[0]
