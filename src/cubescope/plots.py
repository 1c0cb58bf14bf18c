"""Plotly figures the pages show: spectra, colourbars. Pure functions of arrays.

Plotly draws titles and legend names as HTML-like markup; every text that may come from a
file (units, band names, cube names) is escaped here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from cubescope.display import MARKER_COLOURS
from cubescope.spectra import with_gaps
from cubescope.wavelengths import line_breaks


@dataclass(frozen=True)
class Trace:
    """One spectrum to draw: values per band, a legend name, an optional ±spread band, and the
    marker number whose colour it takes (so a pin and its spectrum share a colour)."""

    name: str
    values: np.ndarray
    spread: np.ndarray | None = None
    dash: str | None = None
    marker: int | None = None
    colour: str | None = None  #: an explicit colour (an ROI's), instead of the marker's

    def colour_at(self, position: int) -> str:
        """The line colour of this trace drawn ``position``-th: its own, its marker's, or the
        marker colour of its position."""
        if self.colour:
            return self.colour
        return MARKER_COLOURS[(position if self.marker is None else self.marker) % len(MARKER_COLOURS)]


def x_axis(wavelengths: np.ndarray | None, units: str | None, n_bands: int,
           markup: bool = True) -> tuple[np.ndarray, str]:
    """X values and axis title: wavelengths with their unit, or band numbers. The unit is
    escaped for plotly's markup unless ``markup`` is False."""
    if wavelengths is None:
        return np.arange(n_bands), "band"
    unit = units or "unit unknown"
    return np.asarray(wavelengths, dtype=float), f"wavelength ({escape(unit) if markup else unit})"


def spectra_spec(
    traces: Sequence[Trace],
    wavelengths: np.ndarray | None,
    units: str | None,
    bad_bands: np.ndarray | None = None,
    y_title: str = "value",
    height: int = 360,
    marks: Sequence[tuple[int, str]] = (),
    n_bands: int | None = None,
) -> dict:
    """Spectra as JSON-ready data for the pages' spectra chart (``cubescope_ui/assets/spectra.js``),
    drawn as :func:`spectra_figure` draws them. ``n_bands`` gives the band axis of a chart with
    no traces when there are no wavelengths.

    Returns a dict: ``x`` (one position per band: wavelength, or band number), ``x_unit``,
    ``breaks`` (band indices where the line breaks: a second spectrometer begins, or bands
    were cut out of the file, see :func:`~cubescope.wavelengths.line_breaks`),
    ``x_title``, ``y_title``, ``height`` (px), ``marks`` (``{"x", "colour"}``), ``bad`` (the
    bad bands' indices, shaded), and
    ``traces``, each ``{"name", "colour", "dash", "y", "spread", "markers"}`` with ``None``
    where a value is missing or a band is bad, and ``markers`` the samples no line can show.
    Texts are plain (the chart draws them as text, never as markup).
    """
    n = traces[0].values.size if traces else (len(wavelengths) if wavelengths is not None else n_bands or 1)
    x, x_title = x_axis(wavelengths, units, n, markup=False)
    breaks = line_breaks(x).tolist() if wavelengths is not None and x.size > 1 else []
    out = []
    for i, trace in enumerate(traces):
        y = with_gaps(trace.values, bad_bands)
        spread = None if trace.spread is None else _json_values(with_gaps(trace.spread, bad_bands))
        out.append({
            "name": trace.name, "dash": trace.dash or "solid", "y": _json_values(y), "spread": spread,
            "colour": trace.colour_at(i),
            "markers": np.flatnonzero(marker_sizes(y, breaks=breaks)).tolist(),
        })
    return {
        "x": x.tolist(), "x_unit": "band" if wavelengths is None else (units or ""), "x_title": x_title,
        "breaks": breaks,
        "y_title": y_title, "height": height, "traces": out,
        "marks": [{"x": float(x[b]), "colour": colour} for b, colour in marks],
        "bad": [] if bad_bands is None else np.flatnonzero(bad_bands).tolist(),
    }


def _json_values(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def spectra_figure(
    traces: Sequence[Trace],
    wavelengths: np.ndarray | None,
    units: str | None,
    bad_bands: np.ndarray | None = None,
    y_title: str = "value",
    height: int = 360,
    marks: Sequence[tuple[int, str]] = (),
) -> go.Figure:
    """Spectra against wavelength; bad bands drawn as gaps, spreads as shaded bands.

    ``marks`` are bands to mark with a vertical line, as ``(band index, colour)``: the band
    the image shows (or the three of an RGB composite). A line carries no marker where it
    shows the sample: markers cost plotly a DOM node per sample (a redraw of five spectra took
    52 ms with them, 17 ms without, in Chromium).
    """
    x_title = x_axis(wavelengths, units, traces[0].values.size if traces else 1)[1]
    data: list[dict] = []
    for i, trace in enumerate(traces):
        colour = trace.colour_at(i)
        x = x_axis(wavelengths, units, trace.values.size)[0]
        y = with_gaps(trace.values, bad_bands)
        if trace.spread is not None:
            s = with_gaps(trace.spread, bad_bands)
            data.append({
                "type": "scatter", "x": np.concatenate([x, x[::-1]]), "y": np.concatenate([y + s, (y - s)[::-1]]),
                "mode": "lines", "fill": "toself", "fillcolor": colour, "opacity": 0.2, "line": {"width": 0},
                "hoverinfo": "skip", "showlegend": False, "name": f"{escape(trace.name)} ±1σ",
            })
        breaks = line_breaks(x) if wavelengths is not None and x.size > 1 else np.array([], dtype=np.int64)
        sizes = marker_sizes(y, breaks=breaks)
        if breaks.size:
            # Where the wavelengths step back (a second spectrometer) or jump across bands cut
            # out of the file, the line breaks instead of bridging: each run is drawn on its own.
            x, y, sizes = np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan), np.insert(sizes, breaks, 0)
        line = {"color": colour, "width": 1.6, "dash": trace.dash}
        scatter = {"type": "scatter", "x": x, "y": y, "name": escape(trace.name), "connectgaps": False, "line": line}
        if sizes.any():  # samples no line can show (between gaps, or few bands) keep a marker
            scatter.update(mode="lines+markers", marker={"color": colour, "size": sizes})
        else:
            scatter["mode"] = "lines"
        data.append(scatter)
    shapes = [
        {"type": "line", "xref": "x", "yref": "y domain", "x0": x, "x1": x, "y0": 0, "y1": 1, "layer": "below",
         "line": {"color": colour, "width": 1.2, "dash": "dash"}}
        for x, colour in ((float(wavelengths[b]) if wavelengths is not None else float(b), c) for b, c in marks)
    ]
    # The legend sits below the plot, in a bottom margin with room for one entry a row (a narrow
    # column shows no more): it never covers data or the axis title, and the plot keeps its
    # height however many spectra there are.
    legend_height = 20 * len(traces)
    layout = {
        "template": {"layout": _white_layout()}, "height": height + legend_height,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 50 + legend_height},
        "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": escape(y_title)}, "exponentformat": "e"},
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "xanchor": "left", "x": 0,
                   "entrywidth": 150, "entrywidthmode": "pixels"},
        "hovermode": "x unified", "shapes": shapes,
    }
    # Built from plain dicts in one validated step: adding traces, shapes and a named template
    # one by one through plotly's objects took 15 ms, this takes 4.
    return go.Figure(data=data, layout=layout)


@functools.cache
def _white_layout() -> dict:
    """The layout part of plotly's ``plotly_white`` template (its trace defaults are not needed
    by a scatter plot and would add 20 kB to every figure)."""
    return pio.templates["plotly_white"].layout.to_plotly_json()


def marker_sizes(values: np.ndarray, few: int = 24, breaks: Sequence[int] = ()) -> np.ndarray:
    """Marker size per sample: every sample of a spectrum with at most ``few`` bands, else only
    samples a line cannot show (a finite value between gaps or line ``breaks``, or a one-band
    spectrum)."""
    finite = np.isfinite(np.asarray(values, dtype=float))
    if finite.size <= few:
        return np.where(finite, 6, 0)
    joined = np.ones(finite.size, dtype=bool)  # joined[i]: a line may run from band i - 1 to i
    joined[np.asarray(breaks, dtype=np.int64)] = False
    before = np.r_[False, finite[:-1] & joined[1:]]
    after = np.r_[finite[1:] & joined[1:], False]
    return np.where(finite & ~before & ~after, 6, 0)


def training_figure(loss: Sequence[float], validation: Sequence[float], reference: float, colour: str,
                    reference_colour: str, height: int = 300) -> go.Figure:
    """An autoencoder's training curve (mean squared error per epoch, on the training and the
    held-out spectra; log scale) with PCA's error at the same code size, ``reference``."""
    figure = go.Figure([
        go.Scatter(y=list(loss), mode="lines", name="training", line={"color": colour}),
        go.Scatter(y=list(validation), mode="lines", name="held out", line={"color": colour, "dash": "dot"}),
    ])
    figure.add_hline(y=reference, line={"color": reference_colour, "dash": "dash"}, annotation_text="PCA",
                     annotation_position="top right")
    # The range of the errors themselves: left to itself, plotly spanned decades above them and
    # squashed the curves into a line at the bottom.
    errors = np.array([*loss, *validation, reference], dtype=float)
    errors = errors[np.isfinite(errors) & (errors > 0)]
    span = [float(np.log10(errors.min() / 1.3)), float(np.log10(errors.max() * 1.3))] if errors.size else None
    figure.update_layout(height=height, margin={"l": 50, "r": 10, "t": 30, "b": 40}, title="autoencoder training",
                         xaxis_title="epoch", yaxis={"title": "mean squared error", "type": "log", "range": span},
                         legend={"orientation": "h", "y": -0.25})
    return figure


def confusion_figure(confusion: np.ndarray, names: Sequence[str], height: int = 320) -> go.Figure:
    """A confusion matrix as a heat map: rows the true class, columns the class assigned, each
    cell's count written in it and coloured by the share of its row (its class's recall)."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
    labels = [escape(str(n)) for n in names]
    figure = go.Figure(go.Heatmap(z=share, x=labels, y=labels, text=confusion, texttemplate="%{text}",
                                  colorscale="Blues", zmin=0, zmax=1, colorbar={"title": "share of row"},
                                  hovertemplate="true %{y}, assigned %{x}: %{text} px<extra></extra>"))
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, template="plotly_white",
                         title="confusion (held-out pixels)", xaxis={"title": "assigned", "side": "bottom"},
                         yaxis={"title": "true", "autorange": "reversed"})
    return figure


def scree_figure(ratios: np.ndarray, kept: int, height: int = 320) -> go.Figure:
    """Explained-variance ratio per component (bars; the kept ones solid) with the cumulative
    ratio (line) and the 95% and 99% levels marked with the number of components reaching them."""
    ratios = np.asarray(ratios, dtype=float)
    shown = min(ratios.size, max(kept + 5, 10))
    x = np.arange(1, shown + 1)
    cumulative = np.cumsum(ratios)[:shown]
    figure = go.Figure()
    figure.add_trace(go.Bar(
        x=x, y=100 * ratios[:shown], name="explained variance",
        marker_color=[MARKER_COLOURS[0] if i <= kept else "#b8c4d6" for i in x],
    ))
    figure.add_trace(go.Scatter(x=x, y=100 * cumulative, name="cumulative", mode="lines+markers",
                                line={"color": MARKER_COLOURS[1]}, yaxis="y2"))
    for level, position in ((95.0, "bottom right"), (99.0, "top right")):
        reached = np.flatnonzero(np.cumsum(ratios) * 100 >= level - 1e-9)
        count = reached[0] + 1 if reached.size else None
        label = f"{level:g}%: {count} PC{'s' if count != 1 else ''}" if count else f"{level:g}% not reached"
        figure.add_hline(y=level, yref="y2", line_dash="dot", line_color="#888",
                         annotation_text=label, annotation_position=position, annotation_font_size=11)
    figure.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, template="plotly_white",
        xaxis={"title": "component", "dtick": 1 if shown <= 20 else None},
        yaxis={"title": "explained variance (%)"},
        yaxis2={"title": "cumulative (%)", "overlaying": "y", "side": "right", "range": [0, 104], "dtick": 20,
                "showgrid": False},
        # Below the axis title, as for spectra: above the plot it covered the 95%/99% labels.
        legend={"orientation": "h", "yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0}, bargap=0.2,
    )
    return figure


def loadings_figure(components: np.ndarray, wavelengths: np.ndarray | None, units: str | None,
                    which: list[int], height: int = 320) -> go.Figure:
    """Loadings of the chosen components (0-based) against wavelength (or band)."""
    traces = [Trace(f"PC{i + 1}", components[i], marker=i) for i in which]
    figure = spectra_figure(traces, wavelengths, units, y_title="loading", height=height)
    figure.add_hline(y=0, line_color="#bbb", line_width=1)
    return figure


def transect_figure(distance: np.ndarray, unit: str, spectra: np.ndarray, wavelengths: np.ndarray | None,
                    units: str | None, band: int, bad_bands: np.ndarray | None = None,
                    quantity: str = "value", height: int = 460) -> go.Figure:
    """A transect: its spectra as an image (distance along the line across, wavelength up; a
    2-98% stretch of the good bands' finite values) over the profile of band ``band``.

    Parameters
    ----------
    distance : ndarray, shape (n,)
        Each pixel's distance from the line's start, in ``unit``.
    spectra : ndarray, shape (n, bands)
        The pixels' spectra; bad bands are left blank.
    """
    from plotly.subplots import make_subplots

    y, y_title = x_axis(wavelengths, units, spectra.shape[1], markup=True)
    image = np.array(spectra, dtype=float).T
    if bad_bands is not None:
        image[np.asarray(bad_bands, bool)] = np.nan
    band_at = float(y[band])
    if np.any(np.diff(y) < 0):  # two spectrometers' wavelengths step back: a heat map needs them in order
        order = np.argsort(y, kind="stable")
        y, image = y[order], image[order]
    finite = image[np.isfinite(image)]
    lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0))
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    figure.add_trace(go.Heatmap(
        z=image, x=distance, y=y, zmin=float(lo), zmax=float(hi if hi > lo else lo + 1), colorscale="Viridis",
        colorbar={"title": {"text": escape(quantity)}, "len": 0.6, "y": 0.7},
        hovertemplate=f"%{{x:.4g}} {unit}, %{{y:.4g}}: %{{z:.4g}}<extra></extra>"), row=1, col=1)
    figure.add_hline(y=band_at, line={"color": "white", "dash": "dot", "width": 1}, row=1, col=1)
    figure.add_trace(go.Scatter(x=distance, y=np.array(spectra, dtype=float)[:, band], mode="lines",
                                line={"color": MARKER_COLOURS[0]}, name="profile",
                                hovertemplate=f"%{{x:.4g}} {unit}: %{{y:.4g}}<extra></extra>"), row=2, col=1)
    figure.update_xaxes(title_text=f"distance along the line ({unit})", row=2, col=1)
    figure.update_yaxes(title_text=y_title, row=1, col=1)
    figure.update_yaxes(title_text=escape(quantity), row=2, col=1)
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, template="plotly_white",
                         showlegend=False)
    return figure


@dataclass(frozen=True)
class ScatterMark:
    """Marked pixels drawn over a scatter's density: their (x, y) values, in their colour."""

    name: str
    colour: str
    x: np.ndarray
    y: np.ndarray
    pin: bool = False


def scatter_figure(density, x_title: str, y_title: str, marks: Sequence[ScatterMark] = (),
                   selection: np.ndarray | None = None, selection_colour: str = "#ff2d2d",
                   height: int = 480) -> go.Figure:
    """A scatter's density (:class:`cubescope.scatter.Density`) as a heat map of pixels per cell
    on a log colour scale, the marked pixels over it, and the selection's polygon (``(n, 2)``
    x, y corners).

    Besides the heat map, which plotly cannot select in, the figure carries a transparent point
    at each occupied cell, so that box and lasso selection are offered and report their shapes.
    """
    counts = np.asarray(density.counts)
    xc, yc = density.x_centres, density.y_centres
    occupied = counts > 0
    with np.errstate(divide="ignore"):
        z = np.where(occupied, np.log10(np.maximum(counts, 1)), np.nan)
    top = max(1, int(np.ceil(np.nanmax(z)))) if occupied.any() else 1
    figure = go.Figure(go.Heatmap(
        z=z, x=xc, y=yc, customdata=counts, colorscale="Viridis", zmin=0, zmax=top,
        colorbar={"title": {"text": "pixels"}, "tickvals": list(range(top + 1)),
                  "ticktext": [f"{10 ** k:,}" for k in range(top + 1)], "len": 0.8},
        hovertemplate="x %{x:.4g}, y %{y:.4g}: %{customdata} pixels<extra></extra>", name="density"))
    rows, cols = np.nonzero(occupied)
    figure.add_trace(go.Scattergl(
        x=xc[cols], y=yc[rows], mode="markers", marker={"size": 4, "opacity": 0}, hoverinfo="skip",
        showlegend=False, name="cells", selected={"marker": {"opacity": 0}}, unselected={"marker": {"opacity": 0}}))
    for mark in marks:
        figure.add_trace(go.Scattergl(
            x=mark.x, y=mark.y, mode="markers", name=escape(mark.name),
            marker={"color": mark.colour, "size": 11 if mark.pin else 4, "symbol": "x" if mark.pin else "circle",
                    "line": {"width": 1, "color": "white"} if mark.pin else {"width": 0}},
            unselected={"marker": {"opacity": 1}},
            hovertemplate=f"{escape(mark.name)}: %{{x:.4g}}, %{{y:.4g}}<extra></extra>"))
    if selection is not None:
        corners = np.asarray(selection, float)
        path = "M " + " L ".join(f"{x:.6g},{y:.6g}" for x, y in corners) + " Z"
        figure.add_shape(type="path", path=path, line={"color": selection_colour, "width": 2, "dash": "dot"},
                         fillcolor="rgba(255,45,45,0.08)")
    figure.update_xaxes(title_text=escape(x_title), range=[density.x_edges[0], density.x_edges[-1]])
    figure.update_yaxes(title_text=escape(y_title), range=[density.y_edges[0], density.y_edges[-1]])
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, template="plotly_white",
                         dragmode="lasso", legend={"orientation": "h", "y": -0.18}, plot_bgcolor="white")
    return figure
