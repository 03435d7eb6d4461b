"""Series built from the metric list, true vs recorded, seeds pooled: shared by the dashboard, the
comparison report (`northroute report A B`) and `northroute compare A B`.

Nothing here names a metric of today's model except as an example: `national_series` aggregates any
(metric, level) by its unit from `record.METRICS` (persons and grams add up over places; prices and
fractions take the national `KZ` row, or the mean over places when there is none), so metrics added
later (arrests, prison, bribes, with world=recorded beside world=true) are drawn without code changes.
The exception is `CLAIMS`: the outcomes the thesis makes claims about, each with its claim, compared
over a period (`Period`) with paired differences and t-intervals (`claims_table`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from northroute.experiments.outputs import WEEKS_PER_YEAR, heroin_unmet_need
from northroute.record import METRICS, ROLE_LEVELS
from northroute.report import figures
from northroute.results import Results
from northroute.world.geography import load_geography
from northroute.world.people import SUBSTANCE_NAMES

NOT_ADDITIVE = ("KZT/g", "fraction", "ratio", "KZT", "probability")
GROUP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
WORLD_DASH = {"true": "solid", "recorded": "dash"}


def metric_info(metric: str, level: str) -> tuple[str, str]:
    """(unit, meaning) of a metric from the metric list; unknown metrics get empty strings."""
    for m in METRICS:
        if (m.name, m.level) == (metric, level):
            return m.unit, m.doc
    return "", ""


def metric_pairs(ts: pd.DataFrame) -> list[tuple[str, str]]:
    """Every (metric, level) present in a time series, in the order of the metric list, unknown ones last."""
    present = set(map(tuple, ts[["metric", "level"]].drop_duplicates().astype(str).to_numpy()))
    known = list(dict.fromkeys((m.name, m.level) for m in METRICS))
    return [p for p in known if p in present] + sorted(present - set(known))


def worlds(ts: pd.DataFrame, metric: str, level: str) -> list[str]:
    """The worlds (true, recorded) in which a metric has rows."""
    sel = ts[(ts["metric"] == metric) & (ts["level"] == level)]
    return [w for w in ("true", "recorded") if (sel["world"] == w).any()]


def national_series(ts: pd.DataFrame, metric: str, level: str) -> pd.DataFrame:
    """One value per week, substance and world: the national row `KZ` when the metric has one, else the sum
    over places (additive units) or their mean (prices, fractions)."""
    df = ts[(ts["metric"] == metric) & (ts["level"] == level)]
    if (df["place"] == "KZ").any():
        df = df[df["place"] == "KZ"]
    unit, _ = metric_info(metric, level)
    how = "mean" if unit in NOT_ADDITIVE else "sum"
    out = df.groupby(["world", "substance", "week"], observed=True).agg(date=("date", "first"), value=("value", how))
    return out.reset_index()


def _pooled(runs: Sequence[pd.DataFrame], metric: str, level: str) -> pd.DataFrame:
    """Mean, min and max over seeds of the national series (per world, substance, week)."""
    parts = [national_series(ts, metric, level).assign(seed=k) for k, ts in enumerate(runs)]
    df = pd.concat(parts, ignore_index=True)
    g = df.groupby(["world", "substance", "week"], observed=True)
    out = g.agg(date=("date", "first"), mean=("value", "mean"), lo=("value", "min"), hi=("value", "max"),
                n=("value", "size"))
    return out.reset_index()


def trend_figure(groups: dict[str, Sequence[pd.DataFrame]], metric: str, level: str, height: int = 380) -> go.Figure:
    """The national series of one metric, a panel per substance: a line per group (one run, or the mean over
    seeds with a band from the lowest to the highest seed), solid for world=true, dashed for world=recorded."""
    unit, doc = metric_info(metric, level)
    pooled = {label: _pooled(runs, metric, level) for label, runs in groups.items() if runs}
    subs = [s for s in SUBSTANCE_NAMES if any((p["substance"] == s).any() for p in pooled.values())]
    subs = subs or list(SUBSTANCE_NAMES)
    fig = make_subplots(rows=1, cols=len(subs), subplot_titles=subs, horizontal_spacing=0.06)
    single = len(pooled) == 1
    for g, (label, df) in enumerate(pooled.items()):
        for col, sub in enumerate(subs, start=1):
            colour = figures.SUBSTANCE_COLOURS.get(sub, "#555") if single else GROUP_COLOURS[g % len(GROUP_COLOURS)]
            for world in ("true", "recorded"):
                part = df[(df["substance"] == sub) & (df["world"] == world)]
                if part.empty:
                    continue
                name = f"{label} · {world}" if not single else world
                seeds = int(part["n"].max())
                if seeds > 1:
                    fig.add_trace(go.Scatter(
                        x=pd.concat([part["date"], part["date"][::-1]]), y=pd.concat([part["hi"], part["lo"][::-1]]),
                        fill="toself", fillcolor=_rgba(colour, 0.15), line={"width": 0}, hoverinfo="skip",
                        showlegend=False, legendgroup=name), row=1, col=col)
                what = f"mean of {seeds} seeds" if seeds > 1 else "one run"
                fig.add_trace(go.Scatter(
                    x=part["date"], y=part["mean"], mode="lines", name=name, legendgroup=name,
                    showlegend=col == 1, line={"color": colour, "dash": WORLD_DASH[world], "width": 2},
                    hovertemplate=f"{html.escape(name)} ({what})<br>%{{x|%Y-%m-%d}}: %{{y:,.4g}} {unit}"
                                  f"<extra>{sub}</extra>"), row=1, col=col)
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(title_text=unit or "value", row=1, col=1)
    fig.update_layout(template=figures.TEMPLATE, height=height, margin={"t": 40, "r": 20, "b": 30, "l": 60},
                      legend={"orientation": "h", "y": -0.15}, meta={"metric": metric, "level": level, "doc": doc})
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def outcomes(ts: pd.DataFrame) -> pd.Series:
    """The headline numbers of one run (world=true): the report's summary table and the mean national prices,
    indexed by (substance, measure)."""
    ts = ts[ts["world"] == "true"]
    tab = figures.summary_table(ts)
    prices = figures.national_prices(ts).groupby(["substance", "level"], observed=True)["value"].mean()
    for (sub, level), v in prices.items():
        tab.loc[sub, f"mean {level} price (KZT/g)"] = v
    return tab.stack(future_stack=True).rename("value")


def compare_outcomes(a: Sequence[pd.DataFrame], b: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """A vs B over seeds: means, lowest and highest seed, the difference of means and whether the seed ranges
    are apart (a plain, not a statistical, sign that the difference is larger than the seed-to-seed noise)."""
    sa = pd.concat([outcomes(t) for t in a], axis=1)
    sb = pd.concat([outcomes(t) for t in b], axis=1)
    out = pd.DataFrame({
        "A mean": sa.mean(axis=1), "A lowest": sa.min(axis=1), "A highest": sa.max(axis=1),
        "B mean": sb.mean(axis=1), "B lowest": sb.min(axis=1), "B highest": sb.max(axis=1),
    })
    out["B − A"] = out["B mean"] - out["A mean"]
    out["B vs A %"] = np.where(out["A mean"].abs() > 0, 100 * out["B − A"] / out["A mean"].abs(), np.nan)
    if len(a) > 1 and len(b) > 1:
        apart = (out["B lowest"] > out["A highest"]) | (out["B highest"] < out["A lowest"])
        out["seed ranges apart"] = np.where(apart, "yes", "no")
    out.index.names = ["substance", "measure"]
    return out


# --------------------------------------------------------------------------------- the comparison report

KEY_TRENDS = (("route_flow_g", "trafficking"), ("price", "wholesale"), ("price", "retail"),
              ("seizures_g", "trafficking"), ("users", "user"), ("dealers", "retail"), ("dealers", "wholesale"))


def _fmt(v: float) -> str:
    if not isinstance(v, int | float | np.floating) or not np.isfinite(v):
        return "—" if not isinstance(v, str) else html.escape(v)
    return f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"


def _meta(results: Sequence[Results]) -> dict[str, str]:
    m = results[0].manifest or {}
    sc = m.get("scenario", {}) or {}
    return {
        "scenario": str(sc.get("name", "n/a")),
        "description": str(sc.get("description", "")),
        "seeds": ", ".join(str(r.manifest.get("seed", "?")) for r in results),
        "population scale": str((sc.get("population") or {}).get("scale", "n/a")),
        "start": str((sc.get("time") or {}).get("start", "n/a")),
        "weeks recorded": str(m.get("weeks_recorded", "n/a")),
        "code version": str(m.get("code_version", "n/a")),
        "folder": ", ".join(r.run_dir.name if r.run_dir else "?" for r in results),
    }


def scenario_differences(a: Results, b: Results) -> list[tuple[str, str, str]]:
    """Parameters whose values differ between the two runs' resolved scenarios."""
    sa, sb = (r.manifest.get("scenario", {}) or {} for r in (a, b))
    rows = []
    for section in sorted(set(sa) | set(sb)):
        va, vb = sa.get(section), sb.get(section)
        if isinstance(va, dict) and isinstance(vb, dict):
            for key in sorted(set(va) | set(vb)):
                if va.get(key) != vb.get(key):
                    rows.append((f"{section}.{key}", str(va.get(key, "—")), str(vb.get(key, "—"))))
        elif va != vb and section not in ("name", "description"):
            rows.append((section, str(va), str(vb)))
    return rows


def write_comparison(a: Sequence[Results], b: Sequence[Results], path: Path, title: str | None = None) -> Path:
    """One self-contained HTML page comparing run(s) A with run(s) B: the settings that differ, the headline
    numbers with their differences (and seed ranges when a side has several seeds), the key series of both
    in one chart, and the report's flow figures and maps side by side."""
    from northroute.report import CSS, figure_writer

    a, b = list(a), list(b)
    if not a or not b:
        raise ValueError("each side of a comparison needs at least one run")
    ta = [r.timeseries for r in a]
    tb = [r.timeseries for r in b]
    ma, mb = _meta(a), _meta(b)
    title = title or f"northroute comparison — {ma['scenario']} (A) vs {mb['scenario']} (B)"
    fig_html = figure_writer()

    meta_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(ma[k])}</td><td>{html.escape(mb[k])}</td></tr>"
                        for k in ma)
    diffs = scenario_differences(a[0], b[0])
    diff_rows = "".join(f"<tr><td class='l'><code>{html.escape(k)}</code></td><td>{html.escape(x)}</td>"
                        f"<td>{html.escape(y)}</td></tr>" for k, x, y in diffs) or \
        "<tr><td class='l' colspan='3'>none: the two sides differ only in their seeds</td></tr>"
    comp = compare_outcomes(ta, tb)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in comp.columns)
    body = "".join(
        f"<tr><td class='l'>{html.escape(str(s))}</td><td class='l'>{html.escape(str(q))}</td>"
        + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
        for (s, q), row in comp.iterrows())
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "<table class='meta'><tr><th></th><th>A</th><th>B</th></tr>" + meta_rows + "</table>",
        "<h2>Settings that differ</h2><table><tr><th class='l'>parameter</th><th>A</th><th>B</th></tr>"
        + diff_rows + "</table>",
        "<h2>Differences</h2><p class='note'>Totals over the recorded weeks (kg are simulated grams ÷ 1000), people "
        "in the last week, mean national prices over the run. With several seeds on a side: the mean, and the lowest "
        "and highest seed; 'seed ranges apart' says whether the two sides' ranges overlap.</p>"
        f"<table id='differences'><tr><th class='l'>substance</th><th class='l'>measure</th>{head}</tr>{body}</table>",
        "<h2>Key series, A and B</h2><p class='note'>National weekly values; solid lines world=true, dashed "
        "world=recorded where the model has it; shaded bands span the seeds of a side.</p>",
    ]
    groups = {"A": ta, "B": tb}
    present = set(metric_pairs(ta[0])) & set(metric_pairs(tb[0]))
    for k, (metric, level) in enumerate(p for p in KEY_TRENDS if p in present):
        unit, doc = metric_info(metric, level)
        parts.append(f"<h3>{html.escape(doc or metric)} <code>{metric}</code> ({html.escape(level)}, "
                     f"{html.escape(unit)})</h3>")
        parts.append(fig_html(trend_figure(groups, metric, level), f"fig-trend-{k}"))
    true_a, true_b = (t[t["world"] == "true"] for t in (ta[0], tb[0]))
    route_names = load_geography().route_names
    side = [("Flows by route", lambda t: figures.flows_figure(t, route_names)), ("Map", figures.map_figure)]
    parts.append("<h2>Side by side (first seed of each side)</h2>")
    for k, (name, make) in enumerate(side):
        parts.append(f"<h3>{html.escape(name)}</h3><div class='pair'><div><b>A</b>"
                     f"{fig_html(make(true_a), f'fig-side-{k}-a')}</div><div><b>B</b>"
                     f"{fig_html(make(true_b), f'fig-side-{k}-b')}</div></div>")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    css = CSS + ".pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }\n"
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(parts)
        + f"\n<footer>Comparison written {html.escape(now)}.</footer>\n</main>\n</body>\n</html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
