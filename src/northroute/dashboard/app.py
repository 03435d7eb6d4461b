"""The dashboard page (streamlit script): `northroute dashboard` runs it; tests drive it with AppTest.

Left: the scenario (built-in or uploaded), its main levers and the Run button. Top: the progress of the
running job, with Cancel; the job itself runs in a child process (`runs.RunManager`), the page only
polls a small status file in a fragment, so it never freezes. Views: Results (one run, sections built
from its metrics), Compare (two sides, seeds pooled), Open (runs and study folders in the runs folder).
Every file the page touches is inside the runs folder (`runs.confine`).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import northroute as nr
from northroute.dashboard import levers as lv
from northroute.dashboard import sections
from northroute.dashboard.runs import (
    PathError,
    RunManager,
    Task,
    confine,
    find_runs,
    list_folders,
    read_json,
    runs_root,
)
from northroute.report import figures
from northroute.report.compare import (
    compare_outcomes,
    comparison_warnings,
    metric_info,
    metric_pairs,
    national_how,
    scenario_differences,
    trend_figure,
)
from northroute.report.enforcement import arrest_causes_figure
from northroute.results import EV_FILE, TS_FILE, RunFileError, run_warnings
from northroute.scenario import ScenarioError, builtin_names, step_text

VIEWS = ("Results", "Compare", "Open a run")
PLOT_CONFIG = {"displaylogo": False}
MAX_TRENDS = 3  # more series than this in a section: a menu picks one
FULL_RUN_SECONDS = 45.0  # a national 8-year run on 2 cores (README); used only for a rough estimate


# ------------------------------------------------------------------------------------------ state helpers


def state() -> Any:
    return st.session_state


def root() -> Path:
    return runs_root()


def manager() -> RunManager:
    return RunManager(root())


def base_token(scen_json: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(scen_json, sort_keys=True, default=str).encode()).hexdigest()[:10]


@st.cache_resource(max_entries=16, show_spinner=False)
def load_run(path: str, mtime: float) -> nr.Results:
    """A run folder's results, cached by path and modification time (read-only: do not change them)."""
    return nr.Results.load(path)


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_figure(path: str, mtime: float, key: str, extra: str = "") -> Any:
    res = load_run(path, mtime)
    if key == "causes":  # drawn from the events, not the time series
        return arrest_causes_figure(res.timeseries, res.events)
    ts = sections.true_world(res.timeseries)
    for sec in sections.SECTIONS:
        for name, make in sec.figures:
            if name == key:
                return make(ts)
    raise KeyError(key)


def open_results(rel: str) -> tuple[nr.Results, Path]:
    """Load a run by its name under the runs folder (refusing anything outside it)."""
    path = confine(root(), rel)
    return load_run(str(path), path.stat().st_mtime), path


def run_facts(res: nr.Results) -> dict[str, Any]:
    """What the pages read from a manifest (KeyError if it lacks them)."""
    sc = res.manifest["scenario"]
    return {"name": sc.get("name", "run"), "description": sc.get("description", ""), "seed": res.manifest["seed"],
            "scale": sc["population"]["scale"], "start": sc["time"]["start"]}


def readable_runs(rels: list[str]) -> list[nr.Results] | None:
    """The runs, or None after one sentence naming the first that cannot be read (a damaged folder, a file
    missing, a manifest of another version) instead of a traceback."""
    out = []
    for rel in rels:
        try:
            res = open_results(rel)[0]
            run_facts(res)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            why = str(exc) if isinstance(exc, RunFileError) else f"{type(exc).__name__}: {exc}"  # it names the file
            st.error(f"'{rel}' is not a readable run: {why}")
            return None
        out.append(res)
    return out


def chart(fig: Any, key: str) -> None:
    st.plotly_chart(fig, key=key, config=PLOT_CONFIG, width="stretch")


# ------------------------------------------------------------------------------------------------ sidebar


def url_levers(name: str) -> dict[str, float]:
    """Lever values kept in the page's address for built-in scenario `name` (a reload keeps them; a value that
    is not a number is ignored, and range checks apply as to any value typed in)."""
    url = st.query_params
    if url.get("scenario") != name:
        return {}
    out = {}
    for lever in lv.levers():
        try:
            value = float(url[lever.name])
        except (KeyError, ValueError):
            continue
        if math.isfinite(value):
            out[lever.name] = value
    return out


def remember_levers(base: nr.Scenario, source: tuple[str, str], values: dict[str, Any]) -> None:
    """Write the built-in scenario's name and the levers set away from its values into the page's address,
    so that a reload (a new session) starts from them; an uploaded scenario cannot be reloaded."""
    kind, name = source
    if kind != "builtin":
        st.query_params.clear()
        return
    changed = {k: f"{v:g}" for k, v in values.items() if v is not None and v != lv.current_value(base, k)}
    st.query_params.from_dict({"scenario": name} | changed)


def scenario_sidebar() -> nr.Scenario | None:
    """Scenario source, levers and the Run button. Returns the scenario to run, or None if it is invalid."""
    sb = st.sidebar
    sb.title("northroute")
    sb.caption("Drug trade on Kazakhstan's Northern Route: pick a scenario, set the levers, press Run.")
    source = sb.radio("Scenario", ("Built-in", "Upload a TOML file"), key="source", horizontal=True)
    if source == "Built-in":
        names = builtin_names()
        shown = st.query_params.get("scenario", "baseline-2012")  # a reloaded page keeps its scenario
        name = sb.selectbox("Built-in scenario", names, key="builtin",
                            index=names.index(shown if shown in names else "baseline-2012"))
        if state().get("base_from") != ("builtin", name):
            state()["base"] = nr.load_scenario(name).model_dump(mode="json")
            state()["base_from"] = ("builtin", name)
    else:
        upload = sb.file_uploader("Scenario file (.toml)", key="upload",
                                  help="A scenario in TOML, as in the README; it may extend a built-in one. "
                                       "The file is read as data, never run.")
        if upload is not None and state().get("upload_seen") != upload.file_id:
            state()["upload_seen"] = upload.file_id
            try:
                scen = lv.parse_upload(upload.getvalue(), upload.name, root())
            except lv.UploadError as exc:
                state()["upload_error"] = str(exc)
            else:
                state()["base"] = scen.model_dump(mode="json")
                state()["base_from"] = ("upload", upload.name)
                state().pop("upload_error", None)
        if state().get("upload_error"):
            sb.error(state()["upload_error"] + " The scenario below is unchanged.")
    if "base" not in state():
        state()["base"] = nr.load_scenario("baseline-2012").model_dump(mode="json")
        state()["base_from"] = ("builtin", "baseline-2012")
    base = nr.Scenario.model_validate(state()["base"])
    kind, label = state()["base_from"]
    sb.markdown(f"**Scenario:** `{base.name}`" + (f" (uploaded from {label})" if kind == "upload" else ""))
    if base.description:
        sb.caption(base.description)
    timed = {key for ev in base.timeline for key in ev.set}
    if base.timeline:
        steps = "; ".join(step_text(ev.date, ev.set) for ev in base.timeline)
        sb.caption(f"Timeline: on these dates the scenario sets these values, over the levers below (marked ⏱): "
                   f"{steps}")

    token = base_token(state()["base"])
    values: dict[str, Any] = {}
    groups: dict[str, list[lv.Lever]] = {}
    for lever in lv.levers():
        groups.setdefault(lever.group, []).append(lever)
    saved = url_levers(label) if kind == "builtin" else {}
    for group, items in groups.items():
        with sb.expander(group, expanded=group == "Run"):
            for lever in items:
                current = saved.get(lever.name, lv.current_value(base, lever.name))
                values[lever.name] = st.number_input(
                    lever.widget_label() + (" ⏱" if lever.name in timed else ""),
                    value=int(current) if lever.is_int else float(current),
                    step=lever.step(), format=None if lever.is_int else "%g", help=lever.help(),
                    key=f"lever:{token}:{lever.name}")
    with sb.expander("Other parameters"):
        extra = st.text_area("One per line: section.field = value", key=f"extra:{token}",
                             help="Any parameter listed by `northroute params`, e.g. market.pool_discount = 0.2")
    seed = sb.number_input("Seed", min_value=0, value=0, step=1, key="seed",
                           help="Random seed: the same scenario and seed give the same run.")
    remember_levers(base, state()["base_from"], values)
    scen, errors = lv.build_scenario(base, values, extra)
    for msg in errors:
        sb.error(msg)
    busy = state().get("job") is not None
    if scen is not None:
        weeks = scen.weeks + scen.time.burn_in_weeks
        est = 3 + FULL_RUN_SECONDS * scen.population.scale * weeks / 443
        sb.caption(f"{scen.weeks} weeks recorded at scale {scen.population.scale:g}: roughly {est:,.0f} s.")
    if sb.button("Run", type="primary", disabled=scen is None or busy, key="run",
                 help="Runs in a separate process; the page stays usable." if not busy else "A run is going on."):
        state()["job"] = manager().start([Task(scen.model_dump(mode="json"), int(seed))])
        state()["job_kind"] = "run"
        st.rerun()  # redraw at once with the Run button disabled and the progress bar showing
    state()["scenario"] = scen.model_dump(mode="json") if scen is not None else None
    state()["seed_value"] = int(seed)
    return scen


# ----------------------------------------------------------------------------------------------- progress


def progress_area() -> None:
    """The running job's bar and Cancel button, refreshed once a second without rerunning the page."""
    job = state().get("job")
    if job is None:
        return

    @st.fragment(run_every=1.0)
    def watch() -> None:
        job_id = state().get("job")
        if job_id is None:
            return
        st_ = manager().status(job_id)
        if st_.finished:
            finish(job_id)
            st.rerun(scope="app")
            return
        st.progress(st_.fraction, text=f"{st_.message or 'running'} — {st_.fraction:.0%}")
        if st.button("Cancel", key="cancel"):
            manager().cancel(job_id)
            finish(job_id)
            st.rerun(scope="app")

    watch()


def finish(job_id: str) -> None:
    """Leave the job: open what it made, or say why it made nothing."""
    st_ = manager().status(job_id)
    state()["job"] = None
    runs = st_.runs
    if st_.state == "done" and runs:
        if state().get("job_kind") == "compare":
            state()["cmp_a"] = [r["run"] for r in runs if r["label"] == "A"]
            state()["cmp_b"] = [r["run"] for r in runs if r["label"] == "B"]
            state()["_goto"] = "Compare"
        else:
            state()["open"] = runs[-1]["run"]
            state()["_goto"] = "Results"
        state()["notice"] = ("success", "Run finished." if len(runs) == 1 else f"{len(runs)} runs finished.")
    elif st_.state == "cancelled":
        state()["notice"] = ("warning", "Cancelled: nothing was saved for the run that was going on.")
    else:
        state()["notice"] = ("error", f"The run failed: {st_.message}")


# ----------------------------------------------------------------------------------------------- results


def results_view() -> None:
    rel = state().get("open")
    if not rel:
        st.info("No run is open yet. Press **Run** on the left, or open a saved run under **Open a run**.")
        return
    try:
        folder = confine(root(), rel)
        runs = find_runs(folder)
    except PathError as exc:
        st.error(str(exc))
        return
    if not runs:
        st.error(f"'{rel}' holds no run (a run folder has a manifest.json).")
        return
    study = read_json(folder / "study.json")
    if study is not None:
        st.caption(f"Study folder `{rel}`: {study.get('kind', 'study')}, status {study.get('status', '?')}, "
                   f"{len(runs)} finished runs. Pick one run below; compare seeds or points under **Compare**.")
        if (folder / "report.html").is_file():
            st.download_button("Study report (HTML)", lambda: (folder / "report.html").read_bytes(),
                               file_name=f"{folder.name}-report.html", mime="text/html", key="dl-study")
    if len(runs) > 1:
        names = [str(p.relative_to(root())) for p in runs]
        rel = st.selectbox(f"Runs in {folder.name} ({len(runs)})", names, key="study_pick")
    else:
        rel = str(runs[0].relative_to(root()))
    loaded = readable_runs([rel])
    if loaded is None:
        return
    res, path = loaded[0], confine(root(), rel)
    mtime = path.stat().st_mtime
    man, run = res.manifest, run_facts(res)
    st.subheader(f"{run['name']} · seed {run['seed']}")
    st.caption(f"{run['description']}  \nFolder `{rel}` · population scale {run['scale']} · "
               f"{man.get('weeks_recorded')} weeks from {run['start']} · made {man.get('created', '?')}. "
               "Kilograms and people are those of the simulated population: divide by the scale for national "
               "equivalents.")
    downloads(res, path)
    ts = res.timeseries
    for warning in run_warnings(ts):
        st.warning(f"Warning: {warning}")
    plans = sections.plan(ts)
    for k, p in enumerate(plans):
        with st.container(key=f"section-{p.section.key}"):
            st.markdown(f"### {p.section.title}")
            if p.empty:
                st.info(p.section.empty)
                continue
            if p.section.note:
                st.caption(p.section.note)
            if p.recorded:
                st.caption("Solid lines: world=true (what happens); dashed: world=recorded (what agencies record). "
                           "Arrests bought off with a bribe are in neither.")
            for name, _ in p.section.figures:
                chart(cached_figure(str(path), mtime, name), key=f"fig-{name}")
            if p.section.key == "arrests" and "cause" in res.events:
                st.caption("Why they were arrested, by the person's role (true world; the events' `cause`; simulated "
                           "rows, each panel on its own scale, bribed-off arrests left out): the police's own "
                           "targeting, a protector's hand-over, a client taken down with his convicted protector, a "
                           "crackdown after violence, a witness's testimony.")
                chart(cached_figure(str(path), mtime, "causes"), key="fig-causes")
            shown = p.trend_pairs
            if len(shown) > MAX_TRENDS:  # a long section shows one series at a time, picked from all of them
                labels = [f"{metric_info(m, lvl)[1] or m} ({m} · {lvl})" for m, lvl in shown]
                pick = st.selectbox("Series over time", labels, key=f"pick-{p.section.key}")
                shown = [shown[labels.index(pick)]]
            for metric, level in shown:
                unit, doc = metric_info(metric, level)
                st.markdown(f"**{doc or metric}** · `{metric}` ({level}, {unit or 'no unit'}), "
                            f"{national_how(ts, metric, level)}, per week")
                chart(trend_figure({"run": [ts]}, metric, level, height=300), key=f"trend-{metric}-{level}")
        if k == 0:
            map_block(ts)
    network_block(res)


def network_block(res: nr.Results) -> None:
    """The year-end trade network: who is in it, how they are tied, and one year as GEXF for Gephi."""
    from northroute.network import gexf, year_tables

    nodes, edges = res.network_nodes, res.network
    if nodes.empty:
        return
    with st.container(key="section-network"):
        st.markdown("### Trade network")
        st.caption("Retail dealers, wholesalers and traffickers at the end of each year and their ties (users are "
                   "each dealer's customers); protectors are officers tied to their clients. Simulated rows.")
        years = sorted(int(y) for y in nodes["year"].unique())
        year = st.selectbox("Snapshot at the end of", years, index=len(years) - 1, key="net-year")
        people, ties = year_tables(nodes, edges, year)
        left, right = st.columns(2)
        left.dataframe(people, hide_index=True)
        right.dataframe(ties, hide_index=True)
        st.download_button(f"Network {year} (GEXF for Gephi)", lambda: gexf(nodes, edges, year),
                           file_name=f"network-{year}.gexf", mime="application/xml", key="dl-gexf")


def map_block(ts: pd.DataFrame) -> None:
    """The map, with the regions shaded by any region metric of the run."""
    with st.container(key="section-map"):
        st.markdown("### Map")
        st.caption("Regions of 2012 (Natural Earth, simplified), routes as lines as wide as their flow over the "
                   "run (all substances), border crossings, sources and Russian hubs. Hover for details.")
        true = sections.true_world(ts)
        region_metrics = [p for p in metric_pairs(true) if _is_region_metric(true, *p)]
        options = ["none", *[f"{m} · {lvl}" for m, lvl in region_metrics]]
        default = options.index("users · user") if "users · user" in options else 0
        c1, c2 = st.columns(2)
        pick = c1.selectbox("Shade regions by", options, index=default, key="map_shade")
        sub = c2.selectbox("Substance", ["all substances", *figures.SUBSTANCE_NAMES], key="map_sub")
        shade, title = None, ""
        if pick != "none":
            metric, level = pick.split(" · ")
            unit, _ = metric_info(metric, level)
            substance = None if sub == "all substances" else sub
            drugs = set(true.loc[(true["metric"] == metric) & (true["level"] == level), "substance"].astype(str))
            if substance is not None and substance not in drugs:
                st.caption(f"{metric} is not kept by substance: the map shows it for all substances.")
                substance = None
            if substance is None and unit in ("KZT/g", "fraction") and drugs != {"all"}:
                st.caption("Prices and fractions do not add up over substances: pick one substance to shade by them.")
            else:
                shade = figures.region_values(true, metric, level, substance)
                title = f"{metric} ({unit}), weekly mean" + (f", {substance}" if substance else "")
        chart(figures.map_figure(true, shade, title), key="fig-map")


def _is_region_metric(ts: pd.DataFrame, metric: str, level: str) -> bool:
    """Has the metric rows for more than one region (a national row beside them, as prices have, is ignored)?"""
    places = ts.loc[(ts["metric"] == metric) & (ts["level"] == level), "place"].unique()
    return len({str(p) for p in places} & REGION_CODES) > 1


REGION_CODES = set(figures.places_table().query("kind == 'region'").index)


def downloads(res: nr.Results, path: Path) -> None:
    """CSV and Parquet of the time series and events, and the HTML report (made on demand if missing)."""
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Time series (CSV)", lambda: res.timeseries.to_csv(index=False).encode(),
                       file_name=f"{path.name}-timeseries.csv", mime="text/csv", key="dl-csv")
    c2.download_button("Time series (Parquet)", lambda: (path / TS_FILE).read_bytes(),
                       file_name=f"{path.name}-timeseries.parquet", mime="application/octet-stream", key="dl-pq")
    c3.download_button("Events (Parquet)", lambda: (path / EV_FILE).read_bytes(),
                       file_name=f"{path.name}-events.parquet", mime="application/octet-stream", key="dl-ev")

    def report() -> bytes:
        from northroute.report import write_report

        target = confine(root(), path.relative_to(root()) / "report.html")
        if not target.exists():
            write_report(res, target)
        return target.read_bytes()

    c4.download_button("Report (HTML)", report, file_name=f"{path.name}-report.html", mime="text/html",
                       key="dl-html")


# ----------------------------------------------------------------------------------------------- compare


def run_label(rel: str) -> str:
    try:
        man = json.loads((confine(root(), rel) / "manifest.json").read_text(encoding="utf-8"))
        return f"{man['scenario'].get('name', '?')} · seed {man.get('seed')} · {rel}"
    except (OSError, ValueError, PathError, KeyError, TypeError, AttributeError):
        return rel


def compare_view() -> None:
    st.markdown("### Compare two scenarios")
    st.caption("Each side is one or more runs (several seeds of one scenario give the range over seeds). Pick saved "
               "runs, or run the scenario set on the left (B) against a built-in scenario (A) with a few seeds.")
    with st.form("cmp_run"):
        c1, c2, c3 = st.columns([2, 1, 1])
        names = builtin_names()
        a_name = c1.selectbox("A: built-in scenario", names, key="cmp_base",
                              index=names.index("baseline-2012") if "baseline-2012" in names else 0)
        n_seeds = c2.number_input("Seeds per side", min_value=1, max_value=20, value=3, step=1, key="cmp_seeds")
        go_ = c3.form_submit_button("Run A and B", disabled=state().get("job") is not None
                                    or state().get("scenario") is None)
    if go_:
        b = nr.Scenario.model_validate(state()["scenario"])
        a = nr.load_scenario(a_name)
        # A gets B's run length and scale, so that the two differ only in what the levers changed.
        a.time, a.population.scale = b.time.model_copy(), b.population.scale
        tasks = [Task(a.model_dump(mode="json"), s, "A") for s in range(int(n_seeds))]
        tasks += [Task(b.model_dump(mode="json"), s, "B") for s in range(int(n_seeds))]
        state()["job"] = manager().start(tasks, kind="compare")
        state()["job_kind"] = "compare"
        st.rerun()
    all_runs = [str(p.relative_to(root())) for p in find_runs(root(), depth=3)]
    for side in ("cmp_a", "cmp_b"):
        state()[side] = [r for r in state().get(side, []) if r in all_runs]
    c1, c2 = st.columns(2)
    sel_a = c1.multiselect("A: runs", all_runs, key="cmp_a")
    sel_b = c2.multiselect("B: runs", all_runs, key="cmp_b")
    if not sel_a or not sel_b:
        st.info("Pick at least one run for each side.")
        return
    ra, rb = readable_runs(sel_a), readable_runs(sel_b)
    if ra is None or rb is None:
        return
    try:
        for warning in comparison_warnings(ra, rb):
            st.warning(warning)
    except ValueError as exc:
        st.error(str(exc))
        return
    ta, tb = [r.timeseries for r in ra], [r.timeseries for r in rb]
    diffs = scenario_differences(ra[0], rb[0])
    st.markdown("#### Settings that differ")
    if diffs:
        st.dataframe(pd.DataFrame(diffs, columns=["parameter", "A", "B"]), hide_index=True, key="cmp-settings")
    else:
        st.caption("None: the two sides differ only in their seeds.")
    st.markdown("#### Differences")
    st.caption("Totals over the recorded weeks (kg), people in the last week, mean national prices. Kilograms and "
               "people are those of the simulated population: divide by the scale for national equivalents. With "
               "several seeds: the mean and the lowest and highest seed of each side; the change in per cent is "
               "empty where A is 0.")
    st.dataframe(compare_outcomes(ta, tb).round(2), key="cmp-table")
    pairs = [p for p in metric_pairs(ta[0]) if p in set(metric_pairs(tb[0]))]
    labels = [f"{m} · {lvl}" for m, lvl in pairs]
    default = labels.index("price · retail") if "price · retail" in labels else 0
    pick = st.selectbox("Series", labels, index=default, key="cmp_metric")
    metric, level = pick.split(" · ")
    st.caption(f"{metric_info(metric, level)[1] or metric}: {national_how(ta[0], metric, level)}, per week")
    chart(trend_figure({"A": ta, "B": tb}, metric, level), key="cmp-trend")
    st.markdown("#### Side by side (first run of each side)")
    c1, c2 = st.columns(2)
    for col, res, side in ((c1, ra[0], "a"), (c2, rb[0], "b")):
        true = sections.true_world(res.timeseries)
        with col:
            fig = figures.map_figure(true)
            fig.update_layout(height=560, legend={"orientation": "h", "y": -0.12})  # half-width: legend below
            chart(fig, key=f"cmp-map-{side}")
            chart(figures.prices_figure(true), key=f"cmp-prices-{side}")

    def comparison() -> bytes:
        from northroute.report.compare import write_comparison

        target = confine(root(), ".reports/comparison.html")
        target.parent.mkdir(exist_ok=True)
        return write_comparison(ra, rb, target).read_bytes()

    st.download_button("Comparison report (HTML)", comparison, file_name="comparison.html", mime="text/html",
                       key="dl-cmp")


# -------------------------------------------------------------------------------------------------- open


def open_view() -> None:
    st.markdown("### Open a run or a study folder")
    st.caption(f"Runs folder: `{root()}`. Every run and study folder in it is listed; to open one from elsewhere, "
               "copy it into this folder.")
    folders = list_folders(root())
    if folders:
        pick = st.selectbox("Saved runs and studies (newest first)", folders, key="open_pick", format_func=run_label)
        if st.button("Open", key="open_btn"):
            state()["open"] = pick
            state()["_goto"] = "Results"
            st.rerun()
    else:
        st.info("The runs folder has no runs yet.")
    rel = st.text_input("…or type a folder name inside the runs folder", key="open_text")
    if st.button("Open folder", key="open_text_btn") and rel:
        try:
            path = confine(root(), rel)
        except PathError as exc:
            st.error(str(exc))
            return
        if not find_runs(path):
            st.error(f"'{rel}' holds no run (a run folder has a manifest.json).")
            return
        state()["open"] = str(path.relative_to(root()))
        state()["_goto"] = "Results"
        st.rerun()


# -------------------------------------------------------------------------------------------------- page


def main() -> None:
    st.set_page_config(page_title="northroute dashboard", layout="wide")
    if "_goto" in state():
        state()["view"] = state().pop("_goto")
    if "job" not in state():
        state()["job"] = manager().latest_active()
        state()["job_kind"] = manager().kind(state()["job"]) if state()["job"] else "run"
    if "open" not in state():
        folders = list_folders(root())
        state()["open"] = folders[0] if folders else None
    try:
        scenario_sidebar()
    except ScenarioError as exc:  # a built-in scenario that no longer loads: say so, do not crash
        st.error(f"The scenario cannot be loaded: {exc}")
    notice = state().pop("notice", None)
    if notice:
        getattr(st, notice[0])(notice[1])
    progress_area()
    view = st.radio("View", VIEWS, key="view", horizontal=True, label_visibility="collapsed")
    if view == "Results":
        results_view()
    elif view == "Compare":
        compare_view()
    else:
        open_view()


main()
