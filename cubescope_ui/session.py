"""The session's analysis: page settings, pins, region and zoom window, and their link.

The bottom of the glue: it imports nothing of ``cubescope_ui`` but :mod:`cubescope_ui.text`.
Streamlit forgets a widget's value once a page that does not show it has run; the settings
kept here (``st.session_state["settings"]``) outlive page switches, seed each widget when its
page is shown again, and are what the share link writes. The address bar is written by the
link component (``history.replaceState``), never through ``st.query_params``, whose every
change would push a browser history entry: only page switches do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, state
from cubescope import roi as roi_module
from cubescope.library import SpectralLibrary, library_from_files
from cubescope.smoothing import band_spacing
from cubescope.state import MAX_PINS
from cubescope.viewport import Window
from cubescope.wavelengths import band_label
from cubescope_ui import streamed_uploads
from cubescope_ui.data import DEMO_ID
from cubescope_ui.text import warning

#: Every setting a link can carry, declared by the frame, the shared widgets and each page
#: (:func:`cubescope_ui.frame.link_settings`), once per process.
_declared: dict[str, state.Setting] = {}


def declare(settings: state.Settings) -> None:
    """Make the settings a link can carry known to the session (see :data:`_declared`)."""
    if not _declared:
        _declared.update(settings)


def declared() -> state.Settings:
    return _declared


#: Keys of widgets that are not settings but belong to the open cube (forgotten with it).
_cube_widgets: set[str] = set()


def cube_widget(key: str) -> str:
    """Declare ``key`` a widget whose value belongs to the open cube; returns the key."""
    _cube_widgets.add(key)
    return key


def cube_id() -> str:
    """The session's cube id: the link's (in any letter case) when the session starts."""
    if "cube" not in st.session_state:
        st.session_state["cube"] = state.normal_cube_id(st.query_params.get("cube", DEMO_ID)) or DEMO_ID
    return st.session_state["cube"] or DEMO_ID


def link_context(cube: Cube) -> state.LinkContext:
    """What link values are checked against for ``cube``."""
    return state.LinkContext(
        rows=cube.rows, cols=cube.cols, n_bands=cube.n_bands, usable_bands=int(cube.good_bands.sum()),
        default_band=cube.default_band(), rgb_bands=cube.rgb_bands(),
        uniform_spacing=band_spacing(cube.wavelengths)[1],
        band_label=lambda i: band_label(i, cube.wavelengths, cube.wavelength_units),
        wavelength_range=None if cube.wavelengths_nm is None else (float(np.nanmin(cube.wavelengths_nm)),
                                                                   float(np.nanmax(cube.wavelengths_nm))),
        cube=cube,
    )


#: Colours of new ROIs, apart from the pins' marker colours (Trubetskoy's distinct colours).
ROI_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990",
               "#800000")


def settings() -> dict[str, Any]:
    return st.session_state.setdefault("settings", {})


def adopt_link(cube: Cube) -> None:
    """When the session starts: take the link's settings, pins, region and zoom window that
    are valid for ``cube``, and say which were not and what is used instead."""
    if "settings" in st.session_state:
        return
    query = {key: st.query_params.get(key) for key in st.query_params}
    values, problems = state.read_settings(query, link_context(cube), _declared)
    pins, more = state.decode_pins(query.get("px"), cube.rows, cube.cols)
    region, again = state.decode_region(query.get("roi"), cube.rows, cube.cols)
    window, zoom = state.decode_window(query.get("zoom"), cube.rows, cube.cols)
    line, crossed = state.decode_line(query.get("line"), cube.rows, cube.cols)
    polygons, unread = _decode_rois(query.get("rois"))
    st.session_state["settings"] = values
    st.session_state["pins"] = pins
    st.session_state["region"] = region
    st.session_state["rois"] = polygons
    st.session_state["zoom"] = None if window is None else window.as_list()
    st.session_state["line"] = line
    st.session_state["link_problems"] = problems + more + again + zoom + crossed + unread


def show_link_problems() -> None:
    """The link's refused values, once, on the page the link opened."""
    for problem in st.session_state.pop("link_problems", []):
        warning(problem)


def initial(key: str, context: state.LinkContext, allowed: Callable[[Any], bool] | None = None) -> Any:
    """The value widget ``key`` starts at: the session's (from the link, or set earlier on
    another page), or None for the page's default. ``allowed`` checks a value against what the
    widget offers here; a refused one gets a message naming it and the default."""
    values = settings()
    if allowed is not None and key in st.session_state and not allowed(st.session_state[key]):
        del st.session_state[key]  # set for another cube or another number of components
        values.pop(key, None)
    if key in values and allowed is not None and not allowed(values[key]):
        setting = _declared[key]
        default = setting.default(context)
        warning(f"The {setting.what} {setting.show(values[key], context)} cannot be used here; "
                f"{'the default' if default is None else setting.show(default, context)} is used instead.")
        del values[key]
    return values.get(key)


def setting(key: str, context: state.LinkContext) -> Any:
    """A setting as its page last left it (or as the link gave it), else its default: what a
    page that shows another page's product (the Map's PC or derivative image) uses."""
    return settings().get(key, _declared[key].default(context))


def remember(key: str, value: Any) -> None:
    """Keep a widget's value for the link and for the next time its page is shown."""
    settings()[key] = value


def forget(*keys: str) -> None:
    for key in keys:
        settings().pop(key, None)
        st.session_state.pop(key, None)


def selection(key: str, made_on: str, context: state.LinkContext) -> Any:
    """The selection setting ``key`` (a polygon on a plot), if it was made on ``made_on`` (what
    the plot showed); one made on anything else is forgotten. A selection from the link is
    taken as made on what the page shows first."""
    value = setting(key, context)
    if value is not None and st.session_state.setdefault(f"{key}_made_on", made_on) != made_on:
        forget(key)
        return None
    return value


def set_selection(key: str, value: Any, made_on: str) -> None:
    """Keep the selection ``key`` made on ``made_on`` (see :func:`selection`)."""
    remember(key, value)
    st.session_state[f"{key}_made_on"] = made_on


def keep_note(key: str, text: str) -> None:
    """A message a callback leaves for the run that follows it (:func:`take_note`)."""
    st.session_state[f"note_{key}"] = text


def take_note(key: str) -> str | None:
    """The message :func:`keep_note` left, once."""
    return st.session_state.pop(f"note_{key}", None)


def sent_preview(key: str) -> str | None:
    """What identifies the preview last sent to this session's browser for viewer ``key``."""
    return st.session_state.get("previews_sent", {}).get(key)


def set_sent_preview(key: str, preview_id: str | None) -> None:
    """Note the preview sent for viewer ``key`` (None: the browser has none, send it again)."""
    st.session_state.setdefault("previews_sent", {})[key] = preview_id


# --- pins, region, zoom window ----------------------------------------------------------------

def pins() -> list[list[int]]:
    return st.session_state.setdefault("pins", [])


def rois() -> list[roi_module.ROI]:
    """The session's ROIs (polygons and rectangles with a name, a class and a colour)."""
    return st.session_state.setdefault("rois", [])


#: Longest encoding of one ROI the share link carries (a traced class can have thousands of corners).
MAX_LINKED_ROI = 4000


def in_link(area: roi_module.ROI) -> bool:
    """Whether an ROI is short enough to travel in the share link."""
    return len(area.link_text) <= MAX_LINKED_ROI


def _next_roi() -> tuple[str, str]:
    """The name and colour of the next ROI ("ROI 3"), after the ones the session has."""
    current = rois()
    number = max([0, *(int(r.name[4:]) for r in current if r.name[4:].isdigit() and r.name.startswith("ROI "))]) + 1
    return f"ROI {number}", ROI_COLOURS[(number - 1) % len(ROI_COLOURS)]


def add_roi(vertices: list[tuple[float, float]]) -> None:
    """A new polygon ROI, named and coloured after the ones before it."""
    name, colour = _next_roi()
    add_rois([roi_module.ROI(name, tuple(vertices), colour=colour)])


def add_mask_roi(mask: np.ndarray, label: str = "") -> str:
    """A new ROI of exactly the pixels of ``mask`` (rows, cols), of class ``label``, named and
    coloured after the ones before it; returns its name.

    Raises
    ------
    CubeError
        When the mask holds no pixel, or its boundary has too many corners for an ROI.
    """
    name, colour = _next_roi()
    add_rois([roi_module.ROI.from_mask(name, mask, colour=colour, label=label.strip())])
    return name


def _decode_rois(text: Any) -> tuple[list[roi_module.ROI], list[str]]:
    if not text:
        return [], []
    try:
        return roi_module.decode_rois(str(text)), []
    except (ValueError, CubeError) as exc:
        return [], [f"The link's ROIs could not be read ({exc}); none are shown."]


def rename_roi(index: int, name: str, label: str) -> None:
    """Give ROI ``index`` another name (kept when empty) and class."""
    areas = rois()
    if index < len(areas):
        old = areas[index]
        areas[index] = roi_module.ROI(name.strip() or old.name, old.vertices, colour=old.colour, label=label.strip(),
                                      extra_rings=old.extra_rings)


def remove_roi(index: int | None = None) -> None:
    """Remove ROI ``index``, or every ROI."""
    areas = rois()
    if index is None:
        areas.clear()
    elif index < len(areas):
        del areas[index]


def add_rois(added: list[roi_module.ROI]) -> None:
    """Add ROIs (imported ones); the oldest go beyond :data:`cubescope.roi.MAX_ROIS`."""
    areas = rois()
    areas.extend(added)
    del areas[:-roi_module.MAX_ROIS]


def add_class_rois(labels: np.ndarray, colours: list[str], label: str) -> None:
    """Each class of ``labels`` ``(rows, cols)`` as an ROI of exactly its pixels, replacing ROIs
    of the same name; classes too ragged for an ROI are skipped. What was done is kept for
    :func:`class_rois_note`."""
    added, skipped = [], []
    areas = rois()
    for k, colour in enumerate(colours):
        name = f"class {k}"
        try:
            area = roi_module.ROI.from_mask(name, labels == k, colour=colour, label=label)
        except CubeError:
            skipped.append(name)
            continue
        areas[:] = [a for a in areas if a.name != name]
        areas.append(area)
        added.append(name)
    del areas[:-roi_module.MAX_ROIS]
    note = f"Added {', '.join(added)} as ROIs." if added else "No class could be added."
    if skipped:
        note += (f" Skipped {', '.join(skipped)}: a boundary of more than {roi_module.MAX_TOTAL_VERTICES:,} corners "
                 "(try fewer classes).")
    st.session_state["class_rois_note"] = note


def class_rois_note() -> str | None:
    """What the last :func:`add_class_rois` did."""
    return st.session_state.get("class_rois_note")


def pins_in(cube: Cube) -> list[list[int]]:
    """The pins that lie inside ``cube`` (a link or another cube may have left others)."""
    return [[r, c] for r, c in pins() if 0 <= r < cube.rows and 0 <= c < cube.cols]


def pin(row: int, col: int) -> None:
    """Pin a pixel (once); the oldest pin goes when there are more than :data:`MAX_PINS`."""
    current = pins()
    if [row, col] in current:
        return
    current.append([int(row), int(col)])
    del current[:-MAX_PINS]


def region() -> tuple[int, int, int, int] | None:
    """The selected region as ``(row0, row1, col0, col1)``, end-exclusive, or None."""
    box = st.session_state.get("region")
    return tuple(box) if box else None


def set_region(box: list[int] | None) -> None:
    st.session_state["region"] = list(box) if box else None


def line() -> tuple[int, int, int, int] | None:
    """The transect drawn with the Line tool as ``(row0, col0, row1, col1)``, or None."""
    ends = st.session_state.get("line")
    return tuple(ends) if ends else None


def set_line(ends: list[int] | None) -> None:
    st.session_state["line"] = list(ends) if ends else None


def clear_pins() -> None:
    st.session_state["pins"] = []


def set_zoom(window: Window | None) -> None:
    """Show ``window`` in every image of the cube (None: the whole image)."""
    st.session_state["zoom"] = None if window is None else window.as_list()


def window(cube: Cube) -> Window:
    """The zoom window shown by every image of the cube (the whole image by default)."""
    zoom = st.session_state.get("zoom")
    if not zoom:
        return Window.whole(cube.rows, cube.cols)
    return Window(*zoom).fitted(cube.rows, cube.cols)


def switch_cube(new_id: str) -> None:
    """Make ``new_id`` the session's cube, forgetting what belonged to the previous one."""
    st.session_state["cube"] = new_id
    reset_view()


def open_demo() -> None:
    switch_cube(DEMO_ID)


def reset_view() -> None:
    """Forget pins, region, zoom and band choices: called when another cube is opened."""
    st.session_state["pins"] = []
    st.session_state["region"] = None
    st.session_state["rois"] = []
    st.session_state["zoom"] = None
    st.session_state["line"] = None
    forget(*(key for key, setting in _declared.items() if setting.per_cube), *_cube_widgets)


# --- the spectral library -------------------------------------------------------------------

def library(kind: str = "library") -> tuple[SpectralLibrary | None, str | None]:
    """The library the user loaded or made, and why the last upload was refused (None when it
    was not). ``kind`` "library" is the Library page's (used by others too); "targets" the
    target spectra loaded on the Detection page."""
    return st.session_state.get(kind), st.session_state.get(f"{kind}_problem")


def set_library(found: SpectralLibrary | None, problem: str | None = None, kind: str = "library") -> None:
    """Keep a library (or, with ``problem``, keep the previous one and say why the new one
    could not be read)."""
    if found is not None:
        st.session_state[kind] = found
    st.session_state[f"{kind}_problem"] = problem


def load_library(upload_key: str, kind: str = "library") -> None:
    """Read the files of the uploader ``upload_key`` (a CSV, or an ENVI .sli/.hdr pair) as the
    library ``kind``: an uploader's ``on_change``."""
    files = [(f.name, streamed_uploads.read(f)) for f in st.session_state.get(upload_key) or []]
    if files:
        try:
            set_library(library_from_files(files), kind=kind)
        except CubeError as exc:
            set_library(None, problem=str(exc), kind=kind)


# --- the link ---------------------------------------------------------------------------------

def link_query(cube: Cube) -> str:
    """The query string that reopens this analysis: cube, settings that differ from their
    defaults, pins, region and zoom window."""
    entries: dict[str, str] = {}
    if cube_id() != DEMO_ID:
        entries["cube"] = cube_id()
    entries.update(state.write_settings(settings(), link_context(cube), _declared))
    if pins():
        entries["px"] = state.encode_pins(pins())
    if region():
        entries["roi"] = state.encode_region(region())
    if line():
        entries["line"] = state.encode_line(line())
    linked = [area for area in rois() if in_link(area)]
    if linked:
        entries["rois"] = roi_module.encode_rois(linked)
    shown = window(cube)
    if not shown.is_whole(cube.rows, cube.cols):
        entries["zoom"] = state.encode_window(shown)
    return urlencode(entries)
