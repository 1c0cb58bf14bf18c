"""Analysis state in a URL query string: the cube, page settings, pinned pixels, region and
zoom window; validated both ways.

Each page declares its own settings (:class:`Setting`, built from the parsers here); this
module reads and writes any set of them and names no page.

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


def _four_numbers(text: object, what: str, form: str) -> tuple[list[int] | None, list[str]]:
    """Four whole numbers ``a-b-c-d`` from a link's value; None when absent, or (said why) when
    not of that form (``what`` and ``form`` name it in the message)."""
    if not isinstance(text, str) or not text:
        return None, []
    match = _REGION.match(text.strip()[:MAX_VALUE_LENGTH])
    if not match:
        return None, [f"'{text[:30]}' in the link is not {what} (expected {form})."]
    return [int(v) for v in match.groups()], []


def encode_region(region: Sequence[int]) -> str:
    """``[row0, row1, col0, col1]`` (end-exclusive) -> ``"row0-row1-col0-col1"``."""
    return "-".join(str(int(v)) for v in region)


def decode_region(text: object, rows: int, cols: int) -> tuple[list[int] | None, list[str]]:
    """A rectangle from ``"r0-r1-c0-c1"``, clipped to the image; None when absent or invalid."""
    numbers, problems = _four_numbers(text, "a region", "row0-row1-col0-col1")
    if numbers is None:
        return None, problems
    r0, r1, c0, c1 = numbers
    r1, c1 = min(r1, rows), min(c1, cols)
    if r0 >= r1 or c0 >= c1:
        return None, ["The link's region lies outside this image or is empty."]
    return [r0, r1, c0, c1], []


def encode_line(ends: Sequence[int]) -> str:
    """A transect ``[row0, col0, row1, col1]`` (its end pixels) -> ``"row0-col0-row1-col1"``."""
    return "-".join(str(int(v)) for v in ends)


def decode_line(text: object, rows: int, cols: int) -> tuple[list[int] | None, list[str]]:
    """A transect's end pixels from ``"r0-c0-r1-c1"``; None when absent, or (said why) when
    not a line of this image."""
    numbers, problems = _four_numbers(text, "a transect", "row0-col0-row1-col1")
    if numbers is None:
        return None, problems
    r0, c0, r1, c1 = numbers
    if max(r0, r1) >= rows or max(c0, c1) >= cols or (r0, c0) == (r1, c1):
        return None, ["The link's transect does not lie inside this image."]
    return [r0, c0, r1, c1], []


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
    #: The cube's wavelength range in nm (None without wavelengths).
    wavelength_range: tuple[float, float] | None = None
    #: The cube itself, for a page whose default depends on more than the facts above.
    cube: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Setting:
    """One page setting in the link: how it reads from text, its default, how it is written.

    ``parse(text, context)`` returns the value or raises ``ValueError`` saying why not (the
    message completes "cannot be used (…)"). ``per_cube``: the value names this cube's bands
    or values, and is forgotten when another cube is opened.
    """

    what: str
    parse: Callable[[str, LinkContext], Any]
    default: Callable[[LinkContext], Any]
    encode: Callable[[Any], str] = str
    show: Callable[[Any, LinkContext], str] = lambda value, context: str(value)
    per_cube: bool = False
    #: What a default of None means, in a message ("the image's own range").
    unset: str = "the image's own range"


#: Settings by query key (the key is also the widget's key).
Settings = Mapping[str, Setting]


def choice(options: Sequence[str]) -> Callable[[str, LinkContext], str]:
    """A parser taking one of ``options``."""
    def parse(text: str, context: LinkContext) -> str:
        if text not in options:
            raise ValueError(f"not one of {', '.join(options)}")
        return text
    return parse


def integer(low: int | Callable[[LinkContext], int], high: int | Callable[[LinkContext], int],
            odd: bool = False) -> Callable[[str, LinkContext], int]:
    """A parser of whole numbers from ``low`` to ``high`` (numbers, or functions of the context)."""
    def bound(value: int | Callable[[LinkContext], int], context: LinkContext) -> int:
        return value(context) if callable(value) else value

    def parse(text: str, context: LinkContext) -> int:
        if not _INT.match(text):
            raise ValueError("not a whole number")
        value, lo, hi = int(text), bound(low, context), bound(high, context)
        if not lo <= value <= hi:
            raise ValueError(f"outside {lo} to {hi}")
        if odd and value % 2 == 0:
            raise ValueError("not an odd number")
        return value
    return parse


def band(text: str, context: LinkContext) -> int:
    """A parser of band numbers of the cube."""
    if not _INT.match(text):
        raise ValueError("not a band number")
    if int(text) >= context.n_bands:
        raise ValueError(f"this cube has bands 0 to {context.n_bands - 1}")
    return int(text)


def number(text: str, context: LinkContext) -> float:
    """A parser of finite numbers."""
    try:
        value = float(text[:40])
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def number_pair(text: str, context: LinkContext) -> tuple[float, float]:
    """A parser of two numbers written ``low-high`` (``-`` also ends a negative's sign: ``-1--0.5``)."""
    match = re.fullmatch(r"(-?[^-]+)-(-?[^-]+)", text)
    if not match:
        raise ValueError("not two numbers (expected low-high)")
    return number(match[1], context), number(match[2], context)


def percentiles(text: str, context: LinkContext) -> tuple[float, float]:
    """A parser of two percentiles, ``low-high`` with 0 <= low < high <= 100."""
    try:
        low, high = number_pair(text, context)
    except ValueError:
        raise ValueError("not two percentiles (expected low-high, e.g. 2-98)") from None
    if not 0 <= low < high <= 100:
        raise ValueError("not 0 <= low < high <= 100")
    return low, high


def angle(text: str, context: LinkContext) -> float:
    """A parser of angles in radians, 0 < angle <= π."""
    value = number(text, context)
    if not 0 < value <= math.pi:
        raise ValueError("not an angle between 0 and π radians")
    return value


def flag(text: str, context: LinkContext) -> bool:
    """A parser of ``true`` and ``false``."""
    if text.lower() not in ("true", "false"):
        raise ValueError("neither true nor false")
    return text.lower() == "true"


def flag_text(value: bool) -> str:
    return "true" if value else "false"


def number_text(value: float) -> str:
    """The shortest text that reads back as ``value`` (``2`` for 2.0)."""
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(float(value))


def pair_text(value: Sequence[float]) -> str:
    return f"{number_text(value[0])}-{number_text(value[1])}"


def band_shown(value: int, context: LinkContext) -> str:
    """How a band reads in a message: by its wavelength when the cube has them."""
    return context.band_label(value)


def stretch_settings(prefix: str) -> dict[str, Setting]:
    """The settings of one image's stretch controls, their keys starting with ``prefix``."""
    channel_ranges = {
        f"{prefix}range_{c}_{end}": Setting(f"{name} {end} value", number, lambda c: None, encode=number_text,
                                            per_cube=True)
        for c, name in (("r", "red"), ("g", "green"), ("b", "blue")) for end in ("low", "high")
    }
    return {
        **channel_ranges,
        f"{prefix}stretch": Setting("stretch", choice(STRETCHES), lambda c: "percentile"),
        f"{prefix}pct": Setting("percentiles", percentiles, lambda c: (2.0, 98.0), encode=pair_text,
                                show=lambda v, c: f"{v[0]:g}-{v[1]:g}"),
        f"{prefix}vmin": Setting("low value", number, lambda c: None, encode=number_text, per_cube=True),
        f"{prefix}vmax": Setting("high value", number, lambda c: None, encode=number_text, per_cube=True),
        f"{prefix}cmap": Setting("colormap", choice(COLORMAPS), lambda c: "gray"),
    }


def joined(*groups: Settings) -> dict[str, Setting]:
    """Several groups of settings as one; a key declared twice is a mistake and raises."""
    out: dict[str, Setting] = {}
    for group in groups:
        twice = out.keys() & group.keys()
        if twice:
            raise ValueError(f"settings declared twice: {', '.join(sorted(twice))}")
        out.update(group)
    return out


def read_settings(query: Mapping[str, str], context: LinkContext,
                  settings: Settings) -> tuple[dict[str, Any], list[str]]:
    """The page settings of a link: those that are valid for this cube, and one problem per
    refused value naming it and the default used instead. Unknown keys are ignored."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, setting in settings.items():
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
            instead = setting.unset if default is None else setting.show(default, context)
            problems.append(f"The link's {setting.what} '{text[:30]}' cannot be used ({why}); "
                            f"{instead} is used instead.")
    return values, problems


def stretch_prefixes(settings: Settings) -> tuple[str, ...]:
    """The prefixes of the stretch controls among ``settings`` ("" for the Bands page's)."""
    return tuple(key.removesuffix("stretch") for key in settings if key.endswith("stretch"))


def write_settings(values: Mapping[str, Any], context: LinkContext, settings: Settings) -> dict[str, str]:
    """Query entries for the settings that differ from their defaults, in ``settings`` order;
    a stretch's parameters only while that stretch is chosen (a link keeps no unused value)."""
    unused = set()
    for prefix in stretch_prefixes(settings):
        method = values.get(f"{prefix}stretch", "percentile")
        unused |= {f"{prefix}pct"} if method != "percentile" else set()
        if method != "range":
            unused |= {f"{prefix}vmin", f"{prefix}vmax"}
            unused |= {f"{prefix}range_{c}_{end}" for c in "rgb" for end in ("low", "high")}
    out = {}
    for key, setting in settings.items():
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
