"""The dashboard's page logic (streamlit AppTest), its run manager, path confinement, the shipped region
polygons and the `northroute report` / `dashboard` commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import northroute as nr
from northroute.dashboard import levers as lv
from northroute.dashboard import sections
from northroute.dashboard.runs import ENV_RUNS, PathError, RunManager, Task, confine, find_runs
from northroute.report.boundaries import _inside, load_boundaries
from northroute.report.compare import metric_pairs, national_how, trend_figure
from northroute.report.figures import map_figure, places_table
from tests.helpers import cli, one_line_error

APP = Path(nr.__file__).parent / "dashboard" / "app.py"
TINY = ["population.scale=0.005", "time.years=0.2", "time.burn_in_weeks=2"]
GOOD_TOML = b'name = "mine"\nextends = "baseline-2012"\n[market]\npool_share = 0.5\n'


@pytest.fixture(scope="module")
def tiny_run() -> nr.Results:
    return nr.run(nr.load_scenario("baseline-2012", TINY), seed=0)


@pytest.fixture
def runs_dir(tmp_path: Path, tiny_run: nr.Results, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "runs"
    tiny_run.save(root, "tiny-run")
    monkeypatch.setenv(ENV_RUNS, str(root))
    return root


@pytest.fixture
def app(runs_dir: Path) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def lever(at: AppTest, label: str):
    return next(w for w in at.number_input if w.label.startswith(label))


def scenario_line(at: AppTest) -> str:
    return next(m.value for m in at.sidebar.markdown if m.value.startswith("**Scenario:**"))


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# ------------------------------------------------------------------------------------------------ the page


def test_page_renders_the_open_run(app: AppTest) -> None:
    heads = [m.value for m in app.markdown if m.value.startswith("### ")]
    for title in ("Flows by route", "Map", "Prices by substance and level", "Seizures", "Arrests by role",
                  "Prison population", "Corruption", "Users and dealers"):
        assert f"### {title}" in heads, heads
    assert app.subheader[0].value.startswith("baseline-2012 · seed 0")
    infos = " ".join(i.value for i in app.info)
    assert "has no arrests" not in infos and "has no corruption" not in infos and "has no prisoners" not in infos
    assert any(c.value.startswith("Why they were arrested") for c in app.caption)
    assert "### Trade network" in heads
    assert len(app.get("plotly_chart")) >= 6
    assert {b.label for b in app.get("download_button")} >= {"Time series (CSV)", "Time series (Parquet)",
                                                              "Report (HTML)"}
    assert any(b.label.endswith("(GEXF for Gephi)") for b in app.get("download_button"))
    assert not errors(app)


def test_an_unreadable_run_is_named_not_a_traceback(runs_dir: Path) -> None:
    """A damaged run folder (here the newest, opened by default) is reported in one sentence."""
    (runs_dir / "zz-broken").mkdir()
    (runs_dir / "zz-broken" / "manifest.json").write_text('{"seed": 1}')
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "'zz-broken' is not a readable run: timeseries.parquet is missing" in errors(at), errors(at)
    at.radio(key="view").set_value("Open a run").run()  # the list of runs names it too
    assert not at.exception, [e.value for e in at.exception]


def test_page_warns_of_prices_beyond_the_evidence(tmp_path: Path, tiny_run: nr.Results,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's warnings (as printed by `run` and shown in its report) head the page: here a copy of the
    tiny run whose national retail heroin price was multiplied by 100. The tiny run itself has none."""
    assert not nr.results.run_warnings(tiny_run.timeseries)
    ts = tiny_run.timeseries.copy()
    hit = (ts.metric == "price") & (ts.place == "KZ") & (ts.substance == "heroin") & (ts.level == "retail")
    ts.loc[hit, "value"] *= 100
    root = tmp_path / "runs"
    nr.Results(ts, tiny_run.events, tiny_run.manifest).save(root, "spiral")
    monkeypatch.setenv(ENV_RUNS, str(root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and "retail heroin price reaches" in warnings[0] and "nationally" in warnings[0]


def test_levers_show_unit_range_and_provenance(app: AppTest) -> None:
    w = lever(app, "Heroin arriving")
    assert "kg/year" in w.label and "0 – 200,000" in w.label
    assert "Provenance:" in w.help and "supply.heroin_kg_per_year" in w.help
    assert w.value == 35_000


def test_scenario_pick(app: AppTest) -> None:
    assert lever(app, "Greenhouse marijuana").value > 0
    app.sidebar.selectbox(key="builtin").set_value("no-greenhouse").run()
    assert "no-greenhouse" in scenario_line(app)
    assert lever(app, "Greenhouse marijuana").value == 0
    app.sidebar.selectbox(key="builtin").set_value("uzbek-interdiction").run()  # its timeline sets a lever
    assert any(c.value.startswith("Timeline: ") and "supply.heroin_uzbek_share" in c.value for c in app.sidebar.caption)
    assert lever(app, "Heroin share via Uzbekistan").label.endswith(" ⏱")


def test_lever_validation(app: AppTest) -> None:
    lever(app, "Years to simulate").set_value(100.0).run()
    msg = " ".join(errors(app))
    assert "Years to simulate: 100 years is outside the allowed range 0.02 – 30 years." in msg
    assert app.sidebar.button(key="run").disabled
    lever(app, "Years to simulate").set_value(1.0).run()
    assert not errors(app)
    assert not app.sidebar.button(key="run").disabled
    lever(app, "Burn-in weeks").set_value(-1).run()
    assert "Burn-in weeks (not recorded): -1 weeks is outside the allowed range 0 – 104 weeks." in errors(app)


def test_a_reload_keeps_the_scenario_and_the_levers(app: AppTest) -> None:
    """The page's address keeps the built-in scenario and the levers moved away from its values, so a new
    session (a reload) starts from them; a value in the address that is not a number is ignored."""
    app.sidebar.selectbox(key="builtin").set_value("anticorruption-2015").run()
    lever(app, "Years to simulate").set_value(3.0).run()
    assert app.query_params["scenario"] == "anticorruption-2015" and app.query_params["time.years"] == "3"
    again = AppTest.from_file(str(APP), default_timeout=60)
    again.query_params.update({"scenario": "anticorruption-2015", "time.years": "3", "time.burn_in_weeks": "x"})
    again.run()
    assert not again.exception, [e.value for e in again.exception]
    assert again.sidebar.selectbox(key="builtin").value == "anticorruption-2015"
    assert lever(again, "Years to simulate").value == 3.0
    assert lever(again, "Burn-in weeks").value == nr.load_scenario("anticorruption-2015").time.burn_in_weeks


def test_other_parameters_are_checked(app: AppTest) -> None:
    box = next(t for t in app.text_area if t.label.startswith("One per line"))
    box.set_value("market.nonsense = 1").run()
    assert "unknown parameter 'market.nonsense'" in " ".join(errors(app))
    box = next(t for t in app.text_area if t.label.startswith("One per line"))
    box.set_value("market.pool_discount = 0.2  # bigger discount").run()
    assert not errors(app)
    box = next(t for t in app.text_area if t.label.startswith("One per line"))
    box.set_value("population.heroin_users = 0\npopulation.cannabis_users = 0").run()  # each fine alone
    assert "a market needs users" in " ".join(errors(app)) and app.sidebar.button(key="run").disabled


def test_every_bad_line_of_other_parameters_is_named() -> None:
    """All at once, by line, so a user does not mend one line to meet the next."""
    base = nr.load_scenario("baseline-2012")
    text = "market.nonsense = 1\n# a note\nmarket.adulteration 0.2\nmarket.pool_discount = 0.2\nusers.x = [1,\n"
    scen, messages = lv.build_scenario(base, {}, text)
    assert scen is None and len(messages) == 3
    assert "line 1: unknown parameter 'market.nonsense'" in " ".join(messages)
    assert "line 3: write section.field = value" in " ".join(messages)
    assert "line 5: '[1,' is not a number" in " ".join(messages)
    scen, messages = lv.build_scenario(base, {}, "market.pool_discount = 0.2\njustice.witness_protection@2016-01-04 = "
                                                 "true")
    assert messages == [] and scen.market.pool_discount == 0.2 and scen.timeline[-1].set == {
        "justice.witness_protection": True}


def test_bad_upload_keeps_previous_state(app: AppTest, runs_dir: Path) -> None:
    app.sidebar.radio(key="source").set_value("Upload a TOML file").run()
    app.sidebar.file_uploader[0].set_value(("mine.toml", GOOD_TOML, "application/toml")).run()
    assert "`mine`" in scenario_line(app) and lever(app, "Users who buy in pools").value == 0.5
    bad = [
        ("notes.toml", b"this is [not toml", "is not valid TOML"),
        ("picture.png", b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "is not a text file"),
        ("fields.toml", b'[market]\nnonsense = 1\n', "unknown parameter 'market.nonsense'"),
        ("range.toml", b'[market]\nadulteration = 5\n', "market.adulteration"),
        ("escape.toml", b'extends = "/etc/hostname"\n', "may extend only a built-in scenario"),
    ]
    for name, data, expect in bad:
        app.sidebar.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
        assert not app.exception
        msg = " ".join(errors(app))
        assert expect in msg and "unchanged" in msg, (name, msg)
        assert "`mine`" in scenario_line(app), name
        assert lever(app, "Users who buy in pools").value == 0.5, name
    assert not any((runs_dir / ".uploads").iterdir())  # temp files are removed after parsing


def test_path_confinement(tmp_path: Path, app: AppTest, runs_dir: Path) -> None:
    root = runs_dir.resolve()
    assert confine(root, "tiny-run") == root / "tiny-run"
    for bad in ("../outside", "/etc", "tiny-run/../../x", ""):
        with pytest.raises(PathError):
            confine(root, bad)
    (tmp_path / "elsewhere").mkdir()
    (runs_dir / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(PathError):
        confine(root, "link")
    with pytest.raises(PathError):
        RunManager(root).job_dir("../../etc")
    app.radio(key="view").set_value("Open a run").run()
    app.text_input(key="open_text").set_value("../../etc").run()
    app.button(key="open_text_btn").click().run()
    assert "not inside the runs folder" in " ".join(errors(app))


def test_open_view_lists_runs(app: AppTest) -> None:
    app.radio(key="view").set_value("Open a run").run()
    assert app.selectbox(key="open_pick").options[0].endswith("tiny-run")
    app.button(key="open_btn").click().run()
    assert app.radio(key="view").value == "Results"


# ------------------------------------------------------------------------------ sections from the metric list


def test_recorded_and_new_metrics_show_up_without_code_changes(tiny_run: nr.Results) -> None:
    ts = tiny_run.timeseries
    users = ts[(ts["metric"] == "users") & (ts["place"] == "KUS")]
    part = users.copy()
    part["metric"], part["level"], part["world"] = "widgets_made", "retail", "true"
    grown = pd.concat([ts.astype({c: str for c in ("place", "substance", "level", "metric", "world")}), part])
    plans = {p.section.key: p for p in sections.plan(grown)}
    arrests = plans["arrests"]
    assert not arrests.empty and arrests.recorded and ("arrests", "retail") in arrests.trend_pairs
    assert ("widgets_made", "retail") in plans["other"].pairs
    assert not plans["prison"].empty and not plans["corruption"].empty
    fig = trend_figure({"run": [ts]}, "arrests", "user")
    assert {t.line.dash for t in fig.data} == {"solid", "dash"}


def test_every_series_of_a_run_draws_a_line(tiny_run: nr.Results) -> None:
    """Each metric a section can show has a line over time, police series (kept under substance "all") too,
    and a caption that says how the national value is made."""
    ts = tiny_run.timeseries
    for metric, level in metric_pairs(ts):
        fig = trend_figure({"run": [ts]}, metric, level, height=300)
        assert any(len(t.x) > 0 for t in fig.data), (metric, level)
    assert national_how(ts, "corrupt_officers", "police") in ("national", "sum over the places")
    assert national_how(ts, "purity", "retail") == "unweighted mean of the places"
    assert national_how(ts, "price", "retail") == "national"


# ------------------------------------------------------------------------------------------ the run manager


def wait(mgr: RunManager, job: str, until, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = mgr.status(job)
        if until(st):
            return st
        time.sleep(0.1)
    raise AssertionError(f"job {job} stuck at {mgr.status(job)}")


def test_run_manager_start_progress_cancel(tmp_path: Path) -> None:
    mgr = RunManager(tmp_path)
    scen = nr.load_scenario("baseline-2012", TINY)
    job = mgr.start([Task(scen.model_dump(mode="json"), 4)])
    st = wait(mgr, job, lambda s: s.finished and job not in RunManager._procs)  # done, and its process collected
    assert st.state == "done", st.message
    assert mgr.kind(job) == "run"
    assert st.fraction == 1.0 and st.total == scen.weeks + scen.time.burn_in_weeks
    run = tmp_path / st.runs[0]["run"]
    assert (run / "manifest.json").is_file() and (run / "report.html").is_file()
    assert json.loads((run / "manifest.json").read_text())["seed"] == 4

    # 30 years, so that the run is still going when it is polled, on any machine
    long = nr.load_scenario("baseline-2012", ["population.scale=0.005", "time.years=30", "time.burn_in_weeks=2"])
    job = mgr.start([Task(long.model_dump(mode="json"), 1)])
    st = wait(mgr, job, lambda s: s.state == "running" and s.done > 0 or s.finished)
    assert st.state == "running" and 0 < st.fraction < 1
    mgr.cancel(job)
    st = mgr.status(job)
    assert st.state == "cancelled"
    assert not mgr._alive(job)
    assert find_runs(tmp_path) == [run]  # nothing new, nothing half-written
    assert not list(tmp_path.glob(".tmp-*"))


def test_bad_job_is_refused_before_a_process_starts(tmp_path: Path) -> None:
    mgr = RunManager(tmp_path)
    scen = nr.load_scenario("baseline-2012", TINY).model_dump(mode="json")
    with pytest.raises(ValueError):
        mgr.start([Task({**scen, "market": {"adulteration": 9}}, 0)])
    assert not any((tmp_path / ".jobs").iterdir())


def test_a_worker_that_dies_is_reported_as_failed_and_collected(tmp_path: Path) -> None:
    """A worker killed mid-run (out of memory, say) shows as failed with the last line of its log; finished
    workers are collected (no zombie processes) and a job keeps its kind for a reloaded page."""
    mgr = RunManager(tmp_path)
    # 30 years, so that the run is still going when it is polled, on any machine
    long = nr.load_scenario("baseline-2012", ["population.scale=0.005", "time.years=30", "time.burn_in_weeks=2"])
    job = mgr.start([Task(long.model_dump(mode="json"), 1), Task(long.model_dump(mode="json"), 2)], kind="compare")
    assert mgr.kind(job) == "compare"
    wait(mgr, job, lambda s: s.state == "running" and s.done > 0 or s.finished)
    os.killpg(mgr._pid(job), signal.SIGKILL)
    st = wait(mgr, job, lambda s: s.finished)
    assert st.state == "failed" and st.message
    assert job not in RunManager._procs  # collected
    assert not find_runs(tmp_path)


def test_run_from_the_page(app: AppTest, runs_dir: Path) -> None:
    lever(app, "Years to simulate").set_value(0.2).run()
    lever(app, "Burn-in weeks").set_value(2).run()
    lever(app, "Share of the population simulated").set_value(0.005).run()
    app.sidebar.number_input(key="seed").set_value(9).run()
    app.sidebar.button(key="run").click().run()
    job = app.session_state["job"]
    assert job is not None
    assert app.sidebar.button(key="run").disabled
    wait(RunManager(runs_dir), job, lambda s: s.finished)
    app.run()
    assert not app.exception
    assert "Run finished." in [s.value for s in app.success]
    assert app.subheader[0].value.startswith("baseline-2012 · seed 9")
    assert len(find_runs(runs_dir)) == 2


def test_compare_view(app: AppTest, runs_dir: Path) -> None:
    other = nr.run(nr.load_scenario("baseline-2012", [*TINY, "trafficking.inspection_multiplier=1.0"]), seed=0)
    other.save(runs_dir, "tight-borders")
    app.radio(key="view").set_value("Compare").run()
    app.multiselect(key="cmp_a").set_value(["tiny-run"]).run()
    app.multiselect(key="cmp_b").set_value(["tight-borders"]).run()
    assert not app.exception
    settings, table = (d.value for d in app.dataframe)
    assert settings["parameter"].tolist() == ["trafficking.inspection_multiplier"]
    assert {"A mean", "B mean", "B − A"} <= set(table.columns)
    assert len(app.get("plotly_chart")) >= 5
    app.multiselect(key="cmp_a").set_value(["tiny-run", "tight-borders"]).run()  # two scenarios are not one side
    assert not app.exception and not app.dataframe
    assert errors(app) == ["side A mixes runs of different settings: trafficking.inspection_multiplier is 0.01 in "
                           "tiny-run but 1.0 in tight-borders; a side must be the seeds of one scenario with one set "
                           "of settings"]


# --------------------------------------------------------------------------------------------- boundaries


def test_boundaries_ship_the_2012_regions() -> None:
    path = Path(nr.__file__).parent / "data" / "kz_regions_2012.geojson"
    assert path.stat().st_size < 1_000_000
    feats = load_boundaries()["features"]
    codes = sorted(f["properties"]["code"] for f in feats if f["properties"]["kind"] == "region")
    places = places_table()
    assert codes == sorted(places.index[places["kind"] == "region"])
    # Every region's centre in places.csv lies inside that region's polygon (so the codes are mapped right).
    for f in (f for f in feats if f["properties"]["kind"] == "region"):
        code = f["properties"]["code"]
        lon, lat = places.loc[code, ["lon", "lat"]]
        rings = [np.asarray(poly[0]) for poly in f["geometry"]["coordinates"]]
        assert any(_inside(lon, lat, r) for r in rings), code


def test_map_draws_regions_without_internet(tiny_run: nr.Results) -> None:
    ts = tiny_run.timeseries
    fig = map_figure(ts[ts["world"] == "true"])
    assert {t.type for t in fig.data} == {"scatter"}
    fills = [t for t in fig.data if t.fill == "toself"]
    assert len(fills) >= 16


# ----------------------------------------------------------------------------------------------- commands


def test_report_command(tmp_path: Path, tiny_run: nr.Results) -> None:
    a = tiny_run.save(tmp_path, "a")
    nr.run(nr.load_scenario("baseline-2012", [*TINY, "market.adulteration=0.4"]), seed=0).save(tmp_path, "b")
    res = cli("report", str(a))
    assert res.returncode == 0, res.stderr
    assert (a / "report.html").is_file()
    res = cli("report", str(a), str(tmp_path / "b"), "--out", str(tmp_path / "cmp.html"))
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "market.adulteration" in page and "id='differences'" in page
    assert page.count("plotly.js v") == 1 and "<script src" not in page
    res = cli("report", str(tmp_path / "missing"))
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "not found" in res.stderr
    one_line_error(cli("report", str(tmp_path / "cmp.html")), "cmp.html is a file, not a run folder")


def test_dashboard_command_checks_its_options(tmp_path: Path) -> None:
    res = cli("dashboard", "--port", "0", "--runs", str(tmp_path))
    assert res.returncode == 2 and "--port" in res.stderr
    blocked = tmp_path / "file"
    blocked.write_text("x")
    res = cli("dashboard", "--runs", str(blocked / "runs"))
    assert res.returncode == 2 and "cannot write" in res.stderr
    one_line_error(cli("dashboard", "--host", "999.1.1.1", "--runs", str(tmp_path), timeout=60),
                   "--host 999.1.1.1 is not a known address or host name")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line_error(cli("dashboard", "--port", str(port), "--runs", str(tmp_path), timeout=60),
                       f"cannot listen on 127.0.0.1 port {port}: Address already in use")


def test_upload_parser_directly(tmp_path: Path) -> None:
    scen = lv.parse_upload(GOOD_TOML, "mine.toml", tmp_path)
    assert scen.name == "mine" and scen.market.pool_share == 0.5
    with pytest.raises(lv.UploadError, match="a few kB"):
        lv.parse_upload(b"#" * (lv.MAX_UPLOAD_BYTES + 1), "big.toml", tmp_path)
