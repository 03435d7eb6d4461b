"""The calibration page: posterior distributions against their priors, epsilon by generation, and the fit of
the defaults and of the calibrated values to every target."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from northroute.calibration.abc import Calibration, caveats
from northroute.report import CSS, figure_writer
from northroute.report.figures import PALETTE, TEMPLATE


def posterior_figure(cal: Calibration) -> go.Figure:
    names = list(cal.params)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    for i, name in enumerate(names, start=1):
        lo, hi = cal.params[name]
        fig.add_trace(go.Histogram(x=cal.posterior[name], y=cal.posterior["weight"], histfunc="sum",
                                   xbins={"start": lo, "end": hi, "size": (hi - lo) / 20}, histnorm="probability",
                                   marker_color=PALETTE[i % len(PALETTE)], name=name, showlegend=False), row=1, col=i)
        fig.update_xaxes(range=[lo, hi], row=1, col=i)
    fig.update_layout(template=TEMPLATE, height=320, margin={"t": 50, "r": 20, "b": 40, "l": 50},
                      yaxis_title="posterior weight")
    return fig


def epsilon_figure(cal: Calibration) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(range(1, len(cal.epsilons) + 1)), y=cal.epsilons, mode="lines+markers"))
    fig.update_layout(template=TEMPLATE, height=280, xaxis_title="generation", yaxis_title="epsilon (distance)",
                      margin={"t": 20, "r": 20, "b": 40, "l": 60})
    return fig


def _num(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:,.4g}"


def write_page(cal: Calibration, fit: pd.DataFrame, distances: dict[str, list[float]], estimate: dict[str, float],
               path, meta: str) -> None:
    fig_html = figure_writer()
    models = list(fit.columns[fit.columns.get_loc("recorded") + 1:fit.columns.get_loc("source")])
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (
            r["target"], r["unit"], _num(r["recorded"]), *(_num(r[m]) for m in models), r["source"]))
        + "</tr>" for _, r in fit.iterrows())
    dist = "".join(f"<li>{k}: mean {np.mean(v):.3f} over seeds ({', '.join(f'{x:.3f}' for x in v)})</li>"
                   for k, v in distances.items())
    est = "".join(f"<li><code>{k}</code> = {v:.4g} (90% interval {cal.interval(k)[0]:.4g} to {cal.interval(k)[1]:.4g}; "
                  f"prior {cal.params[k][0]:g} to {cal.params[k][1]:g})</li>" for k, v in estimate.items())
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>northroute calibration</title>"
        f"<style>{CSS}</style></head><body><main><h1>Calibration to {html.escape(cal.targets)}</h1>"
        f"<p class='note'>{html.escape(meta)}</p>"
        + "".join(f"<p class='warn'><b>Warning:</b> {html.escape(c)}</p>" for c in caveats(cal))
        + f"<h2>Distance to the targets</h2><ul>{dist}</ul>"
        f"<h2>Calibrated values and posterior (last generation)</h2><ul>{est}</ul>"
        f"{fig_html(posterior_figure(cal), 'fig-posterior')}"
        f"{fig_html(epsilon_figure(cal), 'fig-eps')}<h2>Fit</h2><p class='note'>Model values are means over the fit "
        "seeds at the calibration scale; seizures in national-equivalent kg per year (recorded world).</p>"
        "<table><thead><tr><th>target</th><th>unit</th><th>recorded</th>"
        + "".join(f"<th>{html.escape(m)}</th>" for m in models)
        + f"<th>source</th></tr></thead><tbody>{rows}</tbody></table></main></body></html>")
    path.write_text(page, encoding="utf-8")
