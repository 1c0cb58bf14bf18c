"""Plotly figures the pages show: spectra, colourbars. Pure functions of arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from cubescope.display import MARKER_COLOURS, plotly_colorscale
from cubescope.spectra import with_gaps


@dataclass(frozen=True)
class Trace:
    """One spectrum to draw: values per band, a legend name, an optional ±spread band, and the
    marker number whose colour it takes (so a pin and its spectrum share a colour)."""

    name: str
    values: np.ndarray
    spread: np.ndarray | None = None
    dash: str | None = None
    marker: int | None = None


def x_axis(wavelengths: np.ndarray | None, units: str | None, n_bands: int) -> tuple[np.ndarray, str]:
    """X values and axis title: wavelengths with their unit, or band numbers."""
    if wavelengths is None:
        return np.arange(n_bands), "band"
    return np.asarray(wavelengths, dtype=float), f"wavelength ({units or 'unit unknown'})"


def spectra_figure(
    traces: Sequence[Trace],
    wavelengths: np.ndarray | None,
    units: str | None,
    bad_bands: np.ndarray | None = None,
    y_title: str = "value",
    height: int = 360,
) -> go.Figure:
    """Spectra against wavelength; bad bands drawn as gaps, spreads as shaded bands."""
    figure = go.Figure()
    for i, trace in enumerate(traces):
        colour = MARKER_COLOURS[(i if trace.marker is None else trace.marker) % len(MARKER_COLOURS)]
        x, x_title = x_axis(wavelengths, units, trace.values.size)
        y = with_gaps(trace.values, bad_bands)
        if trace.spread is not None:
            s = with_gaps(trace.spread, bad_bands)
            figure.add_trace(go.Scatter(
                x=np.concatenate([x, x[::-1]]), y=np.concatenate([y + s, (y - s)[::-1]]),
                fill="toself", fillcolor=colour, opacity=0.2, line={"width": 0},
                hoverinfo="skip", showlegend=False, name=f"{trace.name} ±1σ",
            ))
        figure.add_trace(go.Scatter(
            x=x, y=y, mode="lines", name=trace.name, connectgaps=False,
            line={"color": colour, "width": 1.6, "dash": trace.dash},
        ))
    x_title = x_axis(wavelengths, units, 1)[1]
    figure.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title=x_title, yaxis_title=y_title, legend={"orientation": "h", "y": 1.12},
        hovermode="x unified", template="plotly_white",
    )
    return figure


def colorbar_figure(lo: float, hi: float, colormap: str, title: str = "") -> go.Figure:
    """A thin horizontal colourbar whose axis reads the real values from ``lo`` to ``hi``."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo, hi = 0.0, 1.0
    span = hi - lo if hi > lo else 1.0
    x = np.linspace(lo, lo + span, 256)
    figure = go.Figure(go.Heatmap(
        z=[x], x=x, y=[0], colorscale=plotly_colorscale(colormap), showscale=False, hoverinfo="x",
    ))
    figure.update_layout(
        height=70, margin={"l": 10, "r": 10, "t": 20 if title else 4, "b": 24},
        yaxis={"visible": False}, xaxis={"title": None, "ticks": "outside"},
        title={"text": title, "font": {"size": 12}, "x": 0, "y": 0.98} if title else None,
        template="plotly_white",
    )
    return figure
