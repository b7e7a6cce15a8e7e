"""Training curves of runs as an image file: what ``dl plot`` writes.

matplotlib is an optional extra (``pip install "dlcore[plot]"``): nothing else in dlcore
needs it, so it is imported only here, when a plot is asked for. The figure is drawn on the
Agg canvas directly, without pyplot: no display is needed and the backend of a program that
imports dlcore (a notebook's) is left alone.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from . import checkpoint
from .runs import curves, short_names


class PlotUnavailable(ImportError):
    """matplotlib is not installed; the message says how to get it."""

    def __init__(self):
        super().__init__('plotting needs matplotlib: pip install "dlcore[plot]"')


def plot_curves(runs: Sequence[str | os.PathLike], metric: str, out: str | os.PathLike,
                log_y: bool = False, skip_missing: bool = False) -> list[Path]:
    """Plot ``metric`` against the step for each run directory in ``runs`` (training solid,
    evaluation dashed, one colour per run, the legend naming runs by :func:`short_names`)
    and write the figure to ``out`` atomically, in the format its suffix names (.png,
    .pdf, .svg, ...). Returns the runs plotted: with ``skip_missing`` (a sweep whose failed
    trials logged nothing), those that have the metric.

    ValueError when a run lacks ``metric`` (naming the metrics it has; with
    ``skip_missing``, when all do), ``runs`` is empty or the suffix is not an image format;
    :class:`PlotUnavailable` without matplotlib."""
    if not runs:
        raise ValueError("no runs to plot")
    out = Path(out)
    plotted, series, first_error = [], [], None
    for run in runs:  # every error before any drawing
        try:
            series.append(curves(run, metric))
            plotted.append(Path(run))
        except ValueError as error:
            if not skip_missing:
                raise
            first_error = first_error or error
    if not series:
        raise first_error
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable() from None
    figure = Figure(figsize=(8, 5), layout="constrained")
    canvas = FigureCanvasAgg(figure)
    fmt = out.suffix.lstrip(".").lower()
    formats = canvas.get_supported_filetypes()
    if fmt not in formats:
        raise ValueError(f"{out}: the file name must end in an image format's suffix: "
                         f"{', '.join('.' + name for name in sorted(formats))}")
    axes = figure.add_subplot()
    for index, (label, run_series) in enumerate(zip(short_names(plotted), series)):
        for kind, style in (("train", {"linestyle": "-"}),
                            ("eval", {"linestyle": "--", "marker": "o", "markersize": 3})):
            points = run_series[kind]
            if points:
                steps, values = zip(*points)
                axes.plot(steps, values, color=f"C{index % 10}", label=f"{label} {kind}",
                          **style)
    axes.set_xlabel("step")
    axes.set_ylabel(metric)
    if log_y:
        axes.set_yscale("log")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    checkpoint.atomic_write(out, lambda file: figure.savefig(file, format=fmt))
    return plotted
