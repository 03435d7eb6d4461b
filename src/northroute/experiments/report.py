"""The study report: one self-contained HTML page (plotly.js inlined once, nothing fetched).

Sections: what the study is and how far it got; the outputs; for a sweep, each parameter's effect on
every output; for Morris or Sobol, the indices with their confidence intervals as a table and a plot;
the replicate check; failed runs. Built from the study folder alone, so `northroute study` can
rebuild it at any time.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from northroute.experiments import sensitivity as sa
from northroute.experiments.outputs import NAMES, OUTPUTS
from northroute.experiments.store import REPORT_FILE, Study, now, reads_from
from northroute.experiments.study import price_spirals
from northroute.report import CSS, figure_writer
from northroute.report.compare import INTERVAL, t_interval
from northroute.report.figures import PALETTE, TEMPLATE, substance_menu

MAX_TABLE_ROWS = 300
EXTRA_CSS = "div.wide { overflow-x: auto; max-width: 100%; } h3 small { color: #666; font-weight: 400; }"
MAX_REPLICATE_LINES = 8


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float | np.floating) and not np.isfinite(v)) or v is pd.NA:
        return "n/a"
    if isinstance(v, int | np.integer):
        return f"{v:,}"
    if isinstance(v, float | np.floating):
        a = abs(v)
        return f"{v:,.0f}" if a >= 1000 else f"{v:.3g}" if a >= 1e-3 or a == 0 else f"{v:.2e}"
    return html.escape(str(v))


def _table(df: pd.DataFrame, left: tuple[str, ...] = (), table_id: str = "") -> str:
    head = "".join(f"<th class='{'l' if c in left else ''}'>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.head(MAX_TABLE_ROWS).itertuples(index=False):
        cells = "".join(f"<td class='{'l' if c in left else ''}'>{_fmt(v)}</td>"
                        for c, v in zip(df.columns, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    more = (f"<p class='note'>First {MAX_TABLE_ROWS} of {len(df):,} rows; all of them are in the study's "
            "DuckDB views.</p>") if len(df) > MAX_TABLE_ROWS else ""
    ident = f" id='{table_id}'" if table_id else ""
    return f"<div class='wide'><table{ident}><tr>{head}</tr>{''.join(body)}</table></div>{more}"


def _menu_figure(groups: list[list[go.BaseTraceType]], labels: list[str], **layout: Any) -> go.Figure:
    """Traces grouped by output, one group shown at a time, chosen in a dropdown."""
    fig = go.Figure()
    for g, traces in enumerate(groups):
        for tr in traces:
            tr.visible = g == 0
            fig.add_trace(tr)
    fig.update_layout(template=TEMPLATE, height=440, margin={"t": 80}, **layout)
    if len(groups) > 1:
        fig.update_layout(updatemenus=substance_menu([len(t) for t in groups], labels, y=1.2))
    return fig


def _unit(name: str) -> str:
    return next(o.unit for o in OUTPUTS if o.name == name)


# ------------------------------------------------------------------------------------------ sections


def _header(study: Study) -> str:
    info = study.info
    st = info.get("status", {})
    d = info["design"]
    if d["method"] == "grid":
        params = "; ".join(f"{p['name']} = {', '.join(map(str, p['values']))}" for p in d["parameters"]) or "none"
        method = "grid (full factorial)"
    else:
        params = "; ".join(f"{p['name']} in [{p['min']}, {p['max']}]" for p in d["parameters"])
        extra = f", {d['levels']} levels" if "levels" in d else ""
        method = f"{d['method']} (N = {d['n']}{extra}, sample seed {d['sample_seed']})"
    rows = [
        ("study folder", str(study.path)),
        ("command", info.get("command") or "n/a"),
        ("scenario", info.get("scenario_name")),
        ("design", method),
        ("parameters", params),
        ("design points", f"{info['points']:,}"),
        ("outputs read", reads_from(study.from_year)),
        ("seeds", f"{len(info['seeds'])} (seeds 0..{len(info['seeds']) - 1} at every point: common random numbers)"),
        ("runs", f"{info['runs']:,}: {st.get('done', 0):,} done, {st.get('failed', 0):,} failed, "
                 f"{st.get('pending', 0):,} pending ({st.get('state', 'n/a')})"),
        ("code version", info.get("code_version", "n/a")),
        ("created", info.get("created", "n/a")),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    title = f"northroute study — {info['kind']} of {info.get('scenario_name')}"
    sessions = pd.DataFrame(info.get("sessions", []))
    sess = ""
    if len(sessions):
        cols = [c for c in ("session", "started", "executor", "to_run", "done", "failed", "wall_time_s",
                            "runs_per_minute", "state") if c in sessions]
        sess = "<h2>Sessions</h2>\n" + _table(sessions[cols], left=("started", "executor", "state"))
    return (f"<h1>{html.escape(title)}</h1>\n<table class='meta'>{body}</table>\n{sess}\n"
            "<h2>Outputs</h2>\n<p class='note'>One number per run, computed from its time series: what happens "
            "(world=true) or, where the table says so, what the agencies record (national equivalents: simulated "
            f"quantities divided by the population scale), read {reads_from(study.from_year)}"
            f"{'' if study.from_year is None else '; the distances and price_peak_rise read the whole run'}.</p>\n"
            + _table(pd.DataFrame([{"output": o.name, "unit": o.unit, "world": "recorded" if o.recorded else "true",
                                    "meaning": o.doc} for o in OUTPUTS]), left=("output", "unit", "world", "meaning")))


def effects(runs: pd.DataFrame, param: str, output: str) -> pd.DataFrame:
    """Per value of `param`: the mean of `output` over the runs with that value and its t-interval (`t_interval`:
    mean, lo, hi, n), indexed by the value."""
    by_value = runs.groupby(param)[output]
    return t_interval(pd.DataFrame({v: col.reset_index(drop=True) for v, col in by_value}).T)


def _sweep(study: Study, outputs: pd.DataFrame, fig_html) -> str:
    params = study.design.params
    if outputs.empty:
        return "<h2>Effects</h2><p class='note'>No finished runs yet.</p>"
    runs = outputs.merge(study.design.points, on="point")
    names = [n for n in NAMES if n in runs]  # a study run before an output existed lacks it
    parts = ["<h2>Effects of each parameter</h2>\n<p class='note'>Mean of each output over every finished run "
             f"with that parameter value (all seeds, and all values of the other parameters), with the {INTERVAL:.0%} "
             "t-interval of that mean (Student t, runs − 1 d.f., as `compare` gives; none with one run). Pick the "
             "output in the menu.</p>"]
    for j, param in enumerate(params):
        groups = []
        for name in names:
            g = effects(runs, param, name)
            groups.append([go.Scatter(x=g.index, y=g["mean"], mode="lines+markers", name=name,
                                      error_y={"type": "data", "array": g["hi"] - g["mean"], "visible": True},
                                      line={"color": PALETTE[j % len(PALETTE)]})])
        fig = _menu_figure(groups, names, xaxis_title=param, yaxis_title="mean of the output",
                           showlegend=False)
        parts.append(f"<h3>{html.escape(param)}</h3>\n" + fig_html(fig, f"fig-effect-{j}"))
    means = runs.groupby("point")[names].agg(["mean", "std"])
    table = study.design.points.set_index("point").join(
        pd.DataFrame({f"{n} mean": means[(n, "mean")] for n in names}
                     | {f"{n} sd": means[(n, "std")] for n in names})).reset_index()
    order = ["point", *params] + [c for n in names for c in (f"{n} mean", f"{n} sd")]
    parts.append("<h3>Design points</h3>\n<p class='note'>Mean and standard deviation over the seeds of each "
                 "point.</p>\n" + _table(table[order], table_id="design-points"))
    return "\n".join(parts)


def _indices(study: Study, table: pd.DataFrame, fig_html) -> str:
    method = study.design.method
    cols = sa.INDEX_COLUMNS[method]
    if method == "morris":
        lead = ("Morris elementary effects, in the output's units per whole range of the parameter (SALib "
                "scales each range to [0, 1]): <b>mu*</b> (mean absolute effect: importance), <b>sigma</b> "
                "(spread of the effects: interactions or non-linearity), <b>mu</b> (mean signed effect); "
                "mu*_conf is the half-width of mu*'s 95% bootstrap interval. The plot shows mu* against sigma "
                "with mu*'s interval as error bars.")
    else:
        lead = ("Sobol indices: <b>S1</b> (share of the output's variance due to the parameter alone), <b>ST</b> "
                "(total share, with interactions); _conf is the half-width of the 95% bootstrap interval. Wide "
                "intervals mean N is too small. The plot shows S1 and ST with their intervals.")
    few = sa.few_samples(study.design)
    parts = [f"<h2>Sensitivity ({method})</h2>\n<p class='note'>{lead} Each design point's output is the mean "
             "over its seeds.</p>" + (f"<p class='warn'><b>Warning:</b> {html.escape(few)}.</p>" if few else "")]
    groups, labels = [], []
    for name in NAMES:
        t = table[table["output"] == name]
        note = t["note"].iloc[0] if len(t) else "no runs"
        parts.append(f"<h3>{html.escape(name)} <small>({html.escape(_unit(name))})</small></h3>")
        if note:
            parts.append(f"<p class='note'>No indices: {html.escape(note)}.</p>")
        else:
            key = "mu_star" if method == "morris" else "ST"
            parts.append(_table(t.sort_values(key, ascending=False)[["parameter", *cols]], left=("parameter",),
                                table_id=f"indices-{name}"))
            if len(idle := t.loc[t[key] == 0, "parameter"]):  # e.g. a rule that never fires in the range
                parts.append("<p class='note'>No effect anywhere in its range (every step left this output as it "
                             f"was): {', '.join(html.escape(str(x)) for x in idle)}.</p>")
        if method == "morris":
            traces = [go.Scatter(x=t["mu_star"], y=t["sigma"], mode="markers+text", text=t["parameter"],
                                 textposition="top center", error_x={"type": "data", "array": t["mu_star_conf"]},
                                 marker={"size": 10, "color": PALETTE[0]}, name=name)]
        else:
            traces = [go.Bar(x=t["parameter"], y=t[s], name=s, marker={"color": PALETTE[i]},
                             error_y={"type": "data", "array": t[f"{s}_conf"]}) for i, s in enumerate(("S1", "ST"))]
        groups.append(traces)
        labels.append(name)
    if method == "morris":
        fig = _menu_figure(groups, labels, xaxis_title="mu* (importance)", yaxis_title="sigma (interactions)",
                           showlegend=False)
    else:
        fig = _menu_figure(groups, labels, barmode="group", yaxis_title="index")
    parts.insert(1, fig_html(fig, "fig-indices"))
    return "\n".join(parts)


def _replicates(outputs: pd.DataFrame, check: pd.DataFrame, output: str, tol: float, fig_html) -> str:
    summary = sa.replicate_summary(check)
    parts = [
        "<h2>Replicate check</h2>\n<p class='note'>How many seeds each design point's output needs. "
        "<b>settled</b>: fewest seeds from which the running mean and the running standard deviation both stay "
        f"within ±{tol:.0%} of the output's mean (over all seeds) of their values over all seeds; n/a: not settled "
        "within the seeds run, or fewer than 3 seeds. <b>precision</b>: seeds for the 95% confidence interval of "
        f"the mean to be within ±{tol:.0%} of the mean (t-estimate from the seeds run). Median and worst over the "
        "design points.</p>",
        _table(summary, left=("output",), table_id="replicates"),
    ]
    if outputs.empty or output not in outputs or outputs.groupby("point")["seed"].count().max() < 2:
        parts.append("<p class='note'>No replicate plot: it needs two or more seeds per point (--seeds).</p>")
        return "\n".join(parts)
    points = sorted(outputs["point"].unique())
    if len(points) > MAX_REPLICATE_LINES:
        points = [points[i] for i in np.linspace(0, len(points) - 1, MAX_REPLICATE_LINES).round().astype(int)]
    fig = go.Figure()
    for i, point in enumerate(points):
        v = outputs[outputs["point"] == point].sort_values("seed")[output].to_numpy(dtype=float)
        st = sa.running_stats(v)
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=st["seeds"], y=st["mean"], mode="lines+markers", name=f"point {point}",
                                 line={"color": colour}, legendgroup=str(point),
                                 error_y={"type": "data", "array": st["sd"].fillna(0), "thickness": 1}))
    fig.update_layout(template=TEMPLATE, height=440, xaxis_title="seeds", yaxis_title=f"{output} ({_unit(output)})",
                      title=f"Running mean of {output} over the first k seeds (error bars: running sd)")
    parts.append(fig_html(fig, "fig-replicates"))
    return "\n".join(parts)


def _failures(study: Study) -> str:
    failures = study.info.get("failures", [])
    if not failures:
        return ""
    return ("<h2>Failed runs</h2>\n<p class='note'>Each raised inside its worker; rerun the study's command to "
            "retry them (tracebacks are in log.jsonl).</p>\n"
            + _table(pd.DataFrame(failures), left=("run_id", "error"), table_id="failures"))


def write_study_report(study: Study, output: str = "heroin_retail_price", tol: float = 0.05,
                       analysis: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write report.html into the study folder (from `analysis`, or computed now) and return its path."""
    analysis = analysis if analysis is not None else sa.write_analysis(study, tol)
    outputs = analysis["outputs"]
    fig_html = figure_writer()

    parts = [_header(study)]
    if spirals := price_spirals(outputs):
        parts.append(f"<p class='warn'><b>Warning:</b> {html.escape(spirals)}.</p>")
    if study.design.method == "grid":
        parts.append(_sweep(study, outputs, fig_html))
    else:
        parts.append(_indices(study, analysis["sensitivity"], fig_html))
    parts.append(_replicates(outputs, analysis["replicates"], output, tol, fig_html))
    parts.append(_failures(study))
    title = f"northroute study — {study.info['kind']} of {study.info.get('scenario_name')}"
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{html.escape(title)}</title>\n<style>{CSS}{EXTRA_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(p for p in parts if p)
        + f"\n<footer>Report written {html.escape(now())} from {html.escape(str(study.path))}; "
        f"study spec {html.escape(json.dumps(study.info.get('spec_hash')))}.</footer>\n</main>\n</body>\n</html>\n"
    )
    path = study.path / REPORT_FILE
    tmp = path.with_name(f".{REPORT_FILE}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
