"""One self-contained HTML report per run: header, summary, flows, prices, people, seizures, map,
enterprises.

    from northroute.report import write_report
    write_report(results, Path("report.html"))

The page needs nothing from the internet: plotly.js is inlined once (with the first figure), every
other figure reuses it, styles are inline, fonts are the reader's system fonts and the map is drawn
on plain lon/lat axes (no tile or topojson download).
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio

from northroute.record import METRICS
from northroute.report import enforcement, evidence, figures, network
from northroute.results import Results, code_version, run_warnings
from northroute.scenario import changed_from_defaults, changed_text, last_monday, step_text
from northroute.world.geography import load_geography

PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def figure_writer():
    """A function turning figures into HTML fragments; the first one carries plotly.js, inlined."""
    first = [True]

    def fig_html(fig, div_id: str) -> str:
        out = pio.to_html(fig, include_plotlyjs=first[0], full_html=False, config=PLOT_CONFIG, div_id=div_id,
                          validate=False)
        first[0] = False
        return out

    return fig_html

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0; background: #f6f7f9; color: #222; line-height: 1.45; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 28px 40px; background: #fff; }
h1 { margin: 8px 0 4px; font-size: 1.7em; }
h2 { margin-top: 34px; padding-bottom: 4px; border-bottom: 2px solid #dde1e6; font-size: 1.3em; }
p.note, p.lead { color: #555; font-size: 0.92em; margin: 4px 0 10px; }
p.warn { background: #fff6dd; border-left: 4px solid #d9a400; padding: 6px 10px; margin: 10px 0; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 0.9em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e6ea; text-align: right; }
th { background: #f0f2f5; font-weight: 600; }
td.l, th.l { text-align: left; }
table.meta th { text-align: left; background: none; color: #555; font-weight: 500; }
table.meta td { text-align: left; }
td.good { background: #e6f4ea; } td.fair { background: #fff6dd; } td.poor { background: #fde8e8; }
footer { margin-top: 36px; padding-top: 10px; border-top: 1px solid #dde1e6; color: #666; font-size: 0.85em; }
code { background: #f0f2f5; padding: 0 3px; border-radius: 3px; }
"""


def _fmt(v: Any, spec: str = ",.2f") -> str:
    if v is None or (isinstance(v, float | np.floating) and not np.isfinite(v)):
        return "n/a"
    return format(v, spec)


def _ratio_class(r: float) -> str:
    if not np.isfinite(r):
        return ""
    dist = abs(np.log(r))
    return "good" if dist <= np.log(1.25) else "fair" if dist <= np.log(2.0) else "poor"


def _metric_doc(name: str) -> str:
    return next((m.doc for m in METRICS if m.name == name), name)


def _header(m: dict[str, Any], title: str) -> str:
    sc = m.get("scenario", {}) or {}
    time_, pop = sc.get("time", {}) or {}, sc.get("population", {}) or {}
    wall = m.get("wall_time_s")
    weeks = m.get("weeks_recorded", "n/a")
    burn = m.get("weeks_simulated")
    weeks_txt = f"{weeks} recorded" + (f" ({burn} simulated incl. burn-in)" if burn is not None else "")
    last = None  # a step dated after the last recorded week's first day never acts (scenario.last_monday)
    if time_.get("start") and isinstance(weeks, int):
        last = last_monday(date.fromisoformat(str(time_["start"])[:10]), weeks).isoformat()
    timeline = [step_text(ev.get("date"), ev.get("set") or {})
                + (" (after the run's end: not applied)" if last and str(ev.get("date"))[:10] > last else "")
                for ev in sc.get("timeline") or []]
    rows = [
        ("scenario", sc.get("name", "n/a")),
        ("seed", m.get("seed", "n/a")),
        ("code version", m.get("code_version", "n/a")),
        ("start", time_.get("start", "n/a")),
        ("weeks", weeks_txt),
        ("population scale", pop.get("scale", "n/a")),
        ("changed from the defaults", _changed(sc, m.get("code_version"))),
        ("wall time", f"{wall:,.1f} s" if isinstance(wall, int | float) else "n/a"),
        ("timeline events", timeline or ["none"]),
        ("run created", m.get("created", "n/a")),
    ]

    def cell(v: Any) -> str:
        return "<br>".join(map(html.escape, v)) if isinstance(v, list) else html.escape(str(v))

    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{cell(v)}</td></tr>" for k, v in rows)
    return (
        f"<h1>{html.escape(title)}</h1>\n<p class='lead'>{html.escape(str(sc.get('description', '')))}</p>\n"
        "<p class='note'>The line above is the scenario's own description; the table below says how this run was "
        "made (its scale, period and any parameter set away from the defaults).</p>\n"
        f"<table class='meta'>{body}</table>"
    )


def _changed(scenario: dict[str, Any], made_with: str | None) -> list[str]:
    """The header's lines on parameters set away from the defaults; the defaults are this code's, so a run made
    with another version says so (a default changed since would show as a change)."""
    lines = changed_text(changed_from_defaults(scenario)) or ["nothing (besides the timeline)"]
    if made_with and made_with != code_version():
        lines.append(f"(against the defaults of northroute {code_version()}; the run was made with {made_with})")
    return lines


def _summary_html(ts: pd.DataFrame, scale: Any) -> str:
    tab = figures.summary_table(ts)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in tab.columns)
    rows = []
    for sub, row in tab.iterrows():
        cells = "".join(f"<td>{_fmt(v, ',.1f' if c.startswith('kg') else ',.0f')}</td>" for c, v in row.items())
        rows.append(f"<tr><td class='l'>{html.escape(str(sub))}</td>{cells}</tr>")
    return (
        "<h2>Summary</h2>\n"
        f"<p class='note'>Totals over the recorded weeks of the simulated market at population scale "
        f"<b>{html.escape(str(scale))}</b>: the kilograms are simulated grams ÷ 1000, <em>not</em> rescaled to "
        "national equivalents. People are counted in the last recorded week; users include retail dealers who "
        "use. Exports are grams leaving the routes into Russia; seizures are those at border crossings.</p>\n"
        f"<table><tr><th class='l'>substance</th>{head}</tr>{''.join(rows)}</table>"
    )


def _price_table_html(ts: pd.DataFrame) -> str:
    tab, names = figures.price_comparison(ts), figures.places_table()["short"]
    rows = []
    for (sub, level), r in tab.iterrows():
        cls_a, cls_m = _ratio_class(r["ratio_average"]), _ratio_class(r["ratio_median"])
        rows.append(
            f"<tr><td class='l'>{sub}</td><td class='l'>{level}</td><td>{int(r['weeks'])}</td>"
            f"<td>{_fmt(r['model_mean'])}</td><td>{_fmt(r['table_average'])}</td><td>{_fmt(r['table_median'])}</td>"
            f"<td class='{cls_a}'>{_fmt(r['ratio_average'], '.2f')}</td>"
            f"<td class='{cls_m}'>{_fmt(r['ratio_median'], '.2f')}</td>"
            f"<td>{_range(r['table_min'], r['table_max'])}</td>"
            f"{_outside_cell(r, names)}</tr>"
        )
    return (
        "<h3>How close the model lands (2012)</h3>\n"
        "<p class='note'>Model: mean over the run's 2012 weeks of the user-weighted national price (KZT per street "
        "gram). Table 5.6 (thesis; Yusopov et al. 2018): 2012 national average and median, wholesale converted "
        "from KZT/kg to KZT/g. Ratio cells: green within ×1.25, amber within ×2, red beyond. The table's minimum "
        "and maximum are read as its cheapest and dearest region (its heroin retail minimum is garbled, L1389); the "
        "last column names the regions whose mean 2012 price lies outside them. In thin regional markets stock-outs "
        "raise the price up to nine-fold (docs/ODD.md, limitation 23).</p>\n"
        "<table id='price-comparison'><tr><th class='l'>substance</th><th class='l'>level</th><th>weeks</th>"
        "<th>model 2012 mean</th><th>Table 5.6 average</th><th>Table 5.6 median</th>"
        "<th>model / average</th><th>model / median</th><th>Table 5.6 min to max</th>"
        "<th>regions outside it</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _outside_cell(r: pd.Series, names: pd.Series) -> str:
    """The regions below and above Table 5.6's range ('n of N above: Atyrau oblast, ...'): red when there are
    some, green when there are none, plain when no region had a price that year."""
    parts = [f"{len(r[f'regions_{side}'])} of {r['regions']} {side}: "
             f"{', '.join(names.reindex(r[f'regions_{side}']).fillna('?'))}"
             for side in ("below", "above") if r[f"regions_{side}"]]
    cls, text = (("poor", "; ".join(parts)) if parts else ("good", "none") if r["regions"] else
                 ("", "n/a (no regional price in 2012)"))
    return f"<td class='l {cls}'>{html.escape(text)}</td>"


def _range(lo: float, hi: float) -> str:
    """Table 5.6's range; 'up to' where its minimum is garbled (heroin retail, L1389)."""
    return f"up to {_fmt(hi, ',.0f')}" if np.isnan(lo) else f"{_fmt(lo, ',.0f')} to {_fmt(hi, ',.0f')}"


def _enterprise_parts(results: Results, fig_html) -> list[str]:
    """The social organisation of the trade (issue #3): one enterprise and the size distribution."""
    nodes, edges = results.network_nodes, results.network
    one, sizes = network.enterprise_figure(nodes, edges), network.size_figure(nodes)
    if one is None or sizes is None:
        return ["<h2>Enterprises</h2>\n<p class='note'>This run has no network snapshots.</p>"]
    return [
        "<h2>Enterprises</h2>\n<p class='note'>The wholesaler with the largest retail team at the last "
        "snapshot, with everyone tied to him: the retail dealers he supplies (marker size grows with their "
        "customers), the traffickers he bought from in the last year, whoever introduced or vouched for him or "
        "was introduced by him, and his kin. Below, how big enterprises are.</p>",
        fig_html(one, "fig-enterprise"),
        fig_html(sizes, "fig-enterprise-sizes"),
    ]


def write_report(results: Results, path: Path, title: str | None = None) -> Path:
    """Write one self-contained HTML report of `results` to `path` and return the path."""
    path = Path(path)
    m = results.manifest or {}
    sc = m.get("scenario", {}) or {}
    scale = (sc.get("population", {}) or {}).get("scale", "n/a")
    title = title or f"northroute report — {sc.get('name', 'run')}"
    both = results.timeseries
    ts = both[both["world"] == "true"]
    if ts.empty:
        raise ValueError("the run has no world=true time series to report")
    geo = load_geography()

    fig_html = figure_writer()

    parts = [
        _header(m, title),
        *(f"<p class='warn'><b>Warning:</b> {html.escape(w)}</p>" for w in run_warnings(both)),
        _summary_html(ts, scale),
        "<h2>Flows by route over time</h2>\n<p class='note'>Kilograms per route: "
        f"{html.escape(_metric_doc('route_flow_g'))} (metric <code>route_flow_g</code>), summed over 4-week "
        "blocks (an incomplete last block is left out); pick the substance in the menu.</p>",
        fig_html(figures.flows_figure(ts, geo.route_names), "fig-flows"),
        "<h2>Prices by substance and level</h2>\n<p class='note'>User-weighted national price (place KZ) per "
        "street gram. Dashed and dotted segments over 2012: the Table 5.6 national average and median.</p>",
        fig_html(figures.prices_figure(ts), "fig-prices"),
        _price_table_html(ts),
        "<h2>Users and dealers by region</h2>\n<p class='note'>Last recorded week; log scale so that wholesalers "
        "stay visible beside users. Pick all substances or one in the menu.</p>",
        fig_html(figures.people_figure(ts), "fig-people"),
        "<h2>Seizures</h2>\n<p class='note'>Kilograms seized in transit at each border crossing and staging post "
        "(police operations at the hubs) per calendar year (partial years marked with their weeks); pick the "
        "substance in the menu.</p>",
        fig_html(figures.seizures_figure(ts), "fig-seizures"),
        "<p class='note'>Purity of wholesalers' and retail dealers' stock: regional purities averaged with the "
        "regions' stock (grams) as weights.</p>",
        fig_html(figures.purity_figure(ts), "fig-purity"),
        "<h2>Map</h2>\n<p class='note'>The 16 regions of 2012 and neighbouring countries (Natural Earth, public "
        "domain, simplified; shipped with the package), places at their coordinates, each route drawn "
        "through its nodes (shifted a little sideways where routes share a road), line width proportional to the "
        "route's total <code>route_flow_g</code> over the run (all substances). Latitude is stretched by "
        "1/cos(mean latitude) so that distances look right.</p>",
        fig_html(figures.map_figure(ts), "fig-map"),
        *enforcement.parts(both, fig_html, results.events),
        *_enterprise_parts(results, fig_html),
        *evidence.parts(),
    ]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    footer = (
        "<footer>Series are <b>world=true</b> (the simulated market as it is) unless marked <b>recorded</b> "
        "(what the agencies' statistics would show). "
        f"Report written {html.escape(now)}; "
        f"run made with northroute {html.escape(str(m.get('code_version', '')))}.</footer>"
    )
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(parts)
        + "\n"
        + footer
        + "\n</main>\n</body>\n</html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


__all__ = ["write_report"]
