"""Analysis state in a URL query string: pinned pixels, region, cube id; validated both ways.

Everything read from a URL is untrusted. Parsing never raises: it returns what is valid and a
list of problems in words a page can show (as text) next to the defaults it falls back on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

MAX_PINS = 8
#: Longest query value read; anything longer is refused unread.
MAX_VALUE_LENGTH = 400
_PIXEL = re.compile(r"^(\d{1,7})-(\d{1,7})$")
_REGION = re.compile(r"^(\d{1,7})-(\d{1,7})-(\d{1,7})-(\d{1,7})$")
_CUBE_ID = re.compile(r"^(demo|[0-9a-f]{32})$")


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


def share_link(base_url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """The address that reopens the analysis: ``base_url`` plus the query parameters
    (repeated keys for lists, as Streamlit writes range sliders)."""
    query = urlencode([(k, v) for k, values in params.items()
                       for v in ([values] if isinstance(values, str) else values)])
    return f"{base_url.split('?', 1)[0]}?{query}" if query else base_url.split("?", 1)[0]
