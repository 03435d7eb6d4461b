"""Studies: designs, the study folder, resuming after Ctrl-C or a kill, failed runs, CRN, views, reports, errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psutil
import pytest

import northroute as nr
from northroute.experiments import designs, outputs
from northroute.experiments import sensitivity as sa
from northroute.experiments.runner import RunTask, run_one
from northroute.experiments.store import Study
from northroute.experiments.study import plan_sweep, run_study
from northroute.scenario import ScenarioError
from northroute.world.state import WEEKS_PER_YEAR
from tests.helpers import cli, one_line_error

ROOT = Path(__file__).resolve().parents[1]
TINY_SETS = ["population.scale=0.005", "time.years=0.2", "time.burn_in_weeks=2"]
TINY = ["--scale", "0.005", "--years", "0.2", "--set", "time.burn_in_weeks=2", "--quiet"]
VOLATILE = {"wall_time_s", "module_time_s", "created", "run_dir"}  # manifest fields that differ run to run


def run_files(study: Path) -> dict[str, dict[str, object]]:
    """Per run: bytes of the data files and the manifest without its timings (what must be reproducible)."""
    out = {}
    for run in sorted((study / "runs").iterdir()):
        man = json.loads((run / "manifest.json").read_text())
        out[run.name] = {
            **{name: (run / name).read_bytes() for name in ("timeseries.parquet", "events.parquet",
                                                             "outputs.parquet")},
            "manifest": {k: v for k, v in man.items() if k not in VOLATILE},
        }
    return out


# ------------------------------------------------------------------------------------------- designs


@pytest.fixture(scope="module")
def base() -> nr.Scenario:
    return nr.load_scenario("baseline-2012", TINY_SETS)


def test_ranges_include_the_stop_and_are_exact():
    assert designs.parse_values("x", "0:0.4:0.1") == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert designs.parse_values("x", "2:8:2") == [2, 4, 6, 8]
    assert designs.parse_values("x", "0:1:0.3") == [0.0, 0.3, 0.6, 0.9]  # stop off the grid: not reached
    assert designs.parse_values("x", "0.5:0.5:0.1") == [0.5]
    assert designs.parse_values("x", "0.1, 0.3,true") == [0.1, 0.3, True]


def test_vary_values_take_the_schema_type(base):
    name, values = designs.parse_vary("trafficking.inspection_multiplier=0:2:1", base)
    assert values == [0.0, 1.0, 2.0] and all(isinstance(v, float) for v in values)
    assert designs.parse_vary("trafficking.max_wait_weeks=2,4", base)[1] == [2, 4]
    assert designs.parse_vary("market.dealer_daily_dose=true,false", base)[1] == [True, False]
    with pytest.raises(ScenarioError, match="less than or equal to 0.8"):
        designs.parse_vary("market.adulteration=0:1:0.5", base)


def test_grid_is_a_full_factorial(base):
    design = designs.grid([designs.parse_vary("market.adulteration=0.1,0.2,0.3", base),
                           designs.parse_vary("trafficking.max_wait_weeks=2,4", base)])
    assert list(design.points["point"]) == list(range(6))
    assert design.overrides(3) == [("market.adulteration", 0.2), ("trafficking.max_wait_weeks", 4)]
    assert isinstance(design.overrides(3)[1][1], int)
    assert len(designs.grid([]).points) == 1  # no --vary: replicates of the base scenario


def test_params_files_and_sensitivity_designs(tmp_path, base):
    toml = tmp_path / "p.toml"
    toml.write_text('"market.adulteration" = [0.1, 0.4]\n[trafficking]\ninspection_multiplier = [0.05, 1.0]\n'
                    "max_wait_weeks = { min = 2, max = 12 }\n")
    text = tmp_path / "p.txt"
    text.write_text("# SALib format\nmarket.adulteration 0.1 0.4\ntrafficking.max_wait_weeks 2 12\n")
    ranges = designs.read_params(toml)
    assert ranges["trafficking.max_wait_weeks"] == (2, 12) and len(ranges) == 3
    assert designs.read_params(text) == {"market.adulteration": ("0.1", "0.4"),
                                         "trafficking.max_wait_weeks": ("2", "12")}
    prob = designs.problem(ranges, base)
    morris = designs.sensitivity("morris", prob, 5, base, levels=4)
    assert len(morris.points) == 5 * (3 + 1) and morris.sample.shape == (20, 3)
    assert morris.points["trafficking.max_wait_weeks"].dtype == np.int64  # integers are rounded for the runs
    sobol = designs.sensitivity("sobol", prob, 8, base)
    assert len(sobol.points) == 8 * (3 + 2)
    again = designs.sensitivity("sobol", prob, 8, base)
    pd.testing.assert_frame_equal(sobol.points, again.points)  # the sample seed makes designs reproducible
    with pytest.raises(ScenarioError, match="unknown parameter 'market.nope'"):
        designs.problem({"market.nope": (0, 1)}, base)
    with pytest.raises(ScenarioError, match="empty range"):
        designs.problem({"market.adulteration": (0.4, 0.1)}, base)
    with pytest.raises(ScenarioError, match="only numeric"):
        designs.problem({"market.dealer_daily_dose": (0, 1)}, base)


# ------------------------------------------------------------------------------------------- outputs


def test_enforcement_and_corruption_outputs_of_a_run(tiny_results):
    """The outputs a policy study needs beyond prices and flows, computed here from the time series: arrests a
    year by role (true world), prisoners and corrupt officers (mean over the weeks), drug crimes and corruption
    cases a year (recorded world); all national equivalents."""
    ts = tiny_results.timeseries
    # a tiny run arrests no wholesaler and registers no corruption case: give every (metric, level, world) series its
    # own non-zero values, so that reading the wrong level or world gives another number
    code = {lv: k + 1 for k, lv in enumerate(("user", "retail", "wholesale", "trafficking", "police"))}
    metrics = ["arrests", "registered_crimes", "corruption_cases", "inmates", "corrupt_officers"]
    hit = ts["metric"].isin(metrics)
    ts = ts.assign(value=ts["value"].where(~hit, ts["level"].astype(str).map(code).astype(float)
                                           * np.where(ts["world"] == "recorded", 10.0, 1.0)
                                           * ts["metric"].astype(str).map({m: k + 1 for k, m in enumerate(metrics)})
                                           + ts["week"] % 3))
    values = outputs.compute(ts, tiny_results.manifest)
    scale = tiny_results.manifest["scenario"]["population"]["scale"]
    years = (ts.week.max() + 1) / WEEKS_PER_YEAR

    def rows(metric: str, level: str, world: str = "true") -> pd.DataFrame:
        df = ts[(ts.metric == metric) & (ts.level == level) & (ts.world == world)]
        return df[df.place == "KZ"] if (df.place == "KZ").any() else df

    for name, level in (("retail_arrests_year", "retail"), ("wholesale_arrests_year", "wholesale")):
        assert values[name] == pytest.approx(rows("arrests", level).value.sum() / scale / years)
    assert values["wholesale_arrests_year"] > 0 and values["corruption_cases_year"] > 0
    assert values["drug_crimes_recorded_year"] == pytest.approx(
        rows("registered_crimes", "police", "recorded").value.sum() / scale / years)
    assert values["corruption_cases_year"] == pytest.approx(
        rows("corruption_cases", "police", "recorded").value.sum() / scale / years)
    inmates = pd.concat([rows("inmates", lv) for lv in ("user", "retail", "wholesale", "trafficking")])
    assert values["drug_prisoners"] == pytest.approx(inmates.groupby("week").value.sum().mean() / scale)
    assert values["drug_prisoners"] > 0
    officers = rows("corrupt_officers", "police").groupby("week").value.sum()
    assert values["corrupt_officers"] == pytest.approx(officers.mean() / scale)


def test_outputs_of_a_run(tiny_results):
    values = outputs.compute(tiny_results.timeseries, tiny_results.manifest)
    assert set(values) == set(outputs.NAMES)
    ts = tiny_results.timeseries
    price = ts[(ts.metric == "price") & (ts.level == "retail") & (ts.place == "KZ") & (ts.substance == "heroin")]
    assert values["heroin_retail_price"] == pytest.approx(price.value[price.value > 0].mean())
    scale = tiny_results.manifest["scenario"]["population"]["scale"]
    last = ts[(ts.metric == "users") & (ts.level == "user") & (ts.substance == "heroin") & (ts.week == ts.week.max())]
    assert values["heroin_users_end"] == pytest.approx(last.value.sum() / scale)
    assert 0 <= values["heroin_export_share"] <= 1 and 0 <= values["heroin_unmet_need"] <= 1
    assert values["heroin_seizures_kg_year"] >= 0
    recorded = ts[(ts.metric == "seizures_total_g") & (ts.world == "recorded") & (ts.substance == "heroin")]
    years = (ts.week.max() + 1) / WEEKS_PER_YEAR
    assert values["heroin_seized_recorded_kg_year"] == pytest.approx(recorded.value.sum() / 1000 / scale / years)
    assert values["heroin_seized_recorded_kg_year"] >= values["heroin_seizures_kg_year"]  # crossings' are registered


def test_replicate_check():
    steady = np.array([10.0, 12, 8, 10, 11, 9, 10, 10.5, 9.5, 10, 10, 10, 10, 10, 10, 10])
    k = sa.settled_at(steady, tol=0.05)
    assert k is not None and 2 < k < len(steady)
    stats = sa.running_stats(steady)
    assert stats["mean"].iloc[-1] == pytest.approx(steady.mean())
    assert stats["sd"].iloc[-1] == pytest.approx(steady.std(ddof=1))
    drifting = np.arange(1.0, 11.0)  # the mean keeps moving: never settles
    assert sa.settled_at(drifting, tol=0.05) is None
    assert sa.settled_at(np.array([1.0, 2.0]), tol=0.05) is None  # too few seeds to tell
    assert sa.seeds_for_precision(steady, 0.05) >= 2
    frame = pd.DataFrame({"point": [0] * 16, "seed": range(16), "heroin_retail_price": steady})
    check = sa.replicate_check(frame, 0.05)
    assert check.loc[check.output == "heroin_retail_price", "settled_at"].iloc[0] == k


# ---------------------------------------------------------------------------------- a sweep end to end


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A 3 x 2 grid with 2 seeds through the command line, on 2 workers; the default value 0.25 is on the grid."""
    study = tmp_path_factory.mktemp("sweep") / "study"
    res = cli("sweep", "baseline-2012", "--vary", "market.adulteration=0.15:0.35:0.1", "--vary",
              "trafficking.inspection_multiplier=0.01,1", "--seeds", "2", "--study", str(study), "--workers", "2",
              *TINY)
    return study, res


def test_sweep_effects_have_the_t_interval_of_their_mean(swept):
    """The report's effect of a parameter: per value, the mean over the runs with it (here 2 seeds x 2 values of the
    other parameter) and the 90% Student-t interval of that mean, as `compare` gives."""
    from scipy import stats

    from northroute.experiments.report import effects

    study, res = swept
    assert res.returncode == 0, res.stderr
    runs = Study.open(study).outputs().merge(pd.read_parquet(study / "design.parquet"), on="point")
    got = effects(runs, "market.adulteration", "heroin_retail_price")
    assert len(got) == 3 and (got["n"] == 4).all()
    for value, row in got.iterrows():
        v = runs.loc[runs["market.adulteration"] == value, "heroin_retail_price"]
        half = stats.t.ppf(0.95, 3) * v.std(ddof=1) / 2
        assert row["mean"] == pytest.approx(v.mean()) and row["hi"] - row["mean"] == pytest.approx(half)


def test_a_study_run_before_an_output_existed_still_gets_its_report(swept, tmp_path):
    """A study whose runs lack an output added later (here the session-34 ones) is analysed and reported on the
    outputs it has."""
    from northroute.experiments.report import write_study_report
    from northroute.experiments.sensitivity import write_analysis

    study, res = swept
    assert res.returncode == 0, res.stderr
    old = tmp_path / "old"
    shutil.copytree(study, old)
    for f in old.glob("runs/*/outputs.parquet"):
        pd.read_parquet(f).drop(columns=["retail_arrests_year", "corrupt_officers"]).to_parquet(f, index=False)
    st = Study.open(old)
    page = write_study_report(st, analysis=write_analysis(st)).read_text()
    assert "heroin_retail_price mean" in page and "retail_arrests_year mean" not in page


def test_sweep_writes_a_study_folder(swept):
    study, res = swept
    assert res.returncode == 0, res.stderr
    assert "12 of 12 runs done, 0 failed" in res.stdout
    design = pd.read_parquet(study / "design.parquet")
    assert list(design.columns) == ["point", "market.adulteration", "trafficking.inspection_multiplier"]
    assert len(design) == 6 and design["market.adulteration"].round(6).tolist() == [0.15, 0.15, 0.25, 0.25,
                                                                                     0.35, 0.35]
    info = json.loads((study / "study.json").read_text())
    assert info["kind"] == "sweep" and info["seeds"] == [0, 1] and info["runs"] == 12
    assert info["status"]["state"] == "complete" and info["status"]["done"] == 12 and info["failures"] == []
    assert info["sessions"][0]["executor"] == "2 local workers"
    names = sorted(p.name for p in (study / "runs").iterdir())
    assert names == [f"p{p:05d}-s{s}" for p in range(6) for s in range(2)]
    for name in names:  # point i, seed k runs with seed k: common random numbers
        manifest = json.loads((study / "runs" / name / "manifest.json").read_text())
        assert manifest["seed"] == int(name.split("-s")[1])
        point = int(name[1:6])
        assert manifest["scenario"]["market"]["adulteration"] == pytest.approx(design["market.adulteration"][point])
    report = (study / "report.html").read_text()
    assert report.count("plotly.js v") == 1 and "<script src=\"http" not in report
    assert "Effects of each parameter" in report and "Replicate check" in report


def test_common_random_numbers_match_single_runs(swept, tmp_path):
    """A design point at the base values is the plain run with the same seed, file for file."""
    study, _ = swept
    scen = nr.load_scenario("baseline-2012", TINY_SETS)
    for seed in (0, 1):
        single = nr.run(scen, seed).save(tmp_path, f"single-{seed}")
        run = study / "runs" / f"p00002-s{seed}"  # adulteration 0.25 (the default), inspection 0.01 (the default)
        for name in ("timeseries.parquet", "events.parquet"):
            assert (run / name).read_bytes() == (single / name).read_bytes()


def test_duckdb_views_and_query(swept):
    study, _ = swept
    sql = ('SELECT d."market.adulteration" AS a, count(*) AS n, avg(o.heroin_retail_price) AS price '
           "FROM outputs o JOIN design d USING (point) GROUP BY a ORDER BY a")
    res = cli("query", str(study), sql, "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["n"] for r in rows] == [4, 4, 4]
    assert rows[0]["price"] > rows[-1]["price"]  # more cutting agent: cheaper street grams
    con = duckdb.connect(str(study / "study.duckdb"), read_only=True)  # the persistent views, for DuckDB users
    try:
        assert con.execute("SELECT count(DISTINCT run_id), count(DISTINCT point), count(DISTINCT seed) "
                           "FROM timeseries").fetchone() == (12, 6, 2)
        assert con.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone() == (12,)
        assert con.execute("SELECT count(*) FROM events e JOIN runs r USING (run_id)").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM replicates").fetchone()[0] == 6 * len(outputs.NAMES)
    finally:
        con.close()
    res = cli("query", str(study), "SELECT NULL::DOUBLE AS x, 'nan'::DOUBLE AS y, 'inf'::DOUBLE AS z, 1 AS n, "
              "'a' AS s", "--format", "json")
    assert json.loads(res.stdout, parse_constant=pytest.fail) == {"x": None, "y": None, "z": None, "n": 1, "s": "a"}
    one_line_error(cli("query", str(study), " ;"), "no SQL statement given")
    res = cli("query", str(study), "SELECT * FROM no_such_view")
    one_line_error(res, "no_such_view")
    res = cli("query", str(study), "SELECT * FROM sensitivity")  # a sweep has none (and never a Python object)
    one_line_error(res, "this study has no sensitivity view (it has design, events, outputs, replicates, runs, "
                        "timeseries)")


def test_a_study_logged_to_a_file_gets_progress_lines_and_no_bar(tmp_path):
    """docs/studies.md: when stderr is not a terminal no bar is drawn (the bar's last frame used to end the log)."""
    res = cli("sweep", "--vary", "market.adulteration=0.2,0.3", "--study", str(tmp_path / "s"), *TINY[:-1])
    assert res.returncode == 0, res.stderr
    assert re.search(r"^2 of 2 runs, 0 failed \(\d+:\d\d elapsed\)$", res.stderr, re.M), res.stderr
    assert "━" not in res.stderr and "runs/min" not in res.stderr


def test_a_damaged_study_description_is_refused_in_one_line(swept, tmp_path):
    """A study.json that is JSON but not a study's description, and a missing design, are named, not a traceback."""
    study, _ = swept
    damaged = tmp_path / "damaged"
    shutil.copytree(study, damaged)
    info = json.loads((study / "study.json").read_text())
    for text, command in (("{}", ("study",)), ("[]", ("query", "SELECT 1")), ('{"kind": "sweep"}', ("study",)),
                          (json.dumps({**info, "seeds": 2}), ("query", "SELECT 1")),
                          (json.dumps({**info, "status": None}), ("study",))):
        (damaged / "study.json").write_text(text)
        one_line_error(cli(command[0], str(damaged), *command[1:]), "study.json is not a study's description")
    (damaged / "study.json").write_text((study / "study.json").read_text())
    (damaged / "design.parquet").unlink()
    one_line_error(cli("study", str(damaged)), "its design.parquet is missing")


def test_study_command_and_another_study_in_the_folder(swept):
    study, _ = swept
    res = cli("study", str(study))
    assert res.returncode == 0, res.stderr
    assert "12 done, 0 failed, 0 pending" in res.stdout and "Replicate check" in res.stdout
    before = {p: p.stat().st_mtime_ns for p in study.rglob("*") if p.name != ".lock"}
    res = cli("sweep", "--vary", "market.adulteration=0.1,0.2", "--seeds", "2", "--study", str(study), *TINY)
    one_line_error(res, "another design")
    grid = ["--vary", "market.adulteration=0.15:0.35:0.1", "--vary", "trafficking.inspection_multiplier=0.01,1"]
    res = cli("sweep", *grid, "--seeds", "2", "--study", str(study), *TINY[:-1], "--set", "market.pool_share=0.5",
              "--quiet")
    one_line_error(res, "market.pool_share")
    res = cli("sweep", *grid, "--seeds", "1", "--study", str(study), *TINY)
    one_line_error(res, "can grow")
    assert {p: p.stat().st_mtime_ns for p in study.rglob("*") if p.name != ".lock"} == before


# ------------------------------------------------------------------------------- reproducibility (API)


def test_same_run_files_with_one_or_two_workers_and_more_seeds(tmp_path):
    plan = plan_sweep("baseline-2012", ["market.pool_share=0.1,0.5", "market.adulteration=0.2"], seeds=2,
                      overrides=TINY_SETS)
    one, s1 = run_study(plan, tmp_path / "one", workers=1)
    two, s2 = run_study(plan, tmp_path / "two", workers=2)
    assert s1["done"] == s2["done"] == 4
    assert run_files(one.path) == run_files(two.path)
    # More seeds later: only the new replicates run, the old ones stay as they were.
    before = {p.name: p.stat().st_ino for p in (two.path / "runs").iterdir()}
    plan3 = plan_sweep("baseline-2012", ["market.pool_share=0.1,0.5", "market.adulteration=0.2"], seeds=3,
                       overrides=TINY_SETS)
    grown, s3 = run_study(plan3, tmp_path / "two", workers=2)
    assert s3["to_run"] == 2 and s3["done"] == 2 and grown.info["seeds"] == [0, 1, 2]
    assert {p.name: p.stat().st_ino for p in (two.path / "runs").iterdir() if p.name in before} == before


def failing_run(task: RunTask) -> dict:
    """A run function that raises inside the worker for one run (design point 1, seed 0)."""
    if (task.point, task.seed) == (1, 0):
        raise RuntimeError("boom inside a worker")
    return run_one(task)


def test_a_run_that_raises_is_recorded_and_retried(tmp_path):
    plan = plan_sweep("baseline-2012", ["market.pool_share=0.1,0.3,0.5"], seeds=2, overrides=TINY_SETS)
    study, session = run_study(plan, tmp_path / "s", workers=2, fn=failing_run)
    assert session["done"] == 5 and session["failed"] == 1 and session["state"] == "incomplete"
    assert study.info["failures"] == [{"run_id": "p00001-s0", "error": "RuntimeError: boom inside a worker"}]
    runs = pd.read_parquet(study.path / "runs.parquet").set_index("run_id")
    assert runs.loc["p00001-s0", "status"] == "failed" and (runs["status"] == "done").sum() == 5
    log = [json.loads(line) for line in (study.path / "log.jsonl").read_text().splitlines()]
    assert "boom inside a worker" in next(e["traceback"] for e in log if e["status"] == "failed")
    study, session = run_study(plan, tmp_path / "s", workers=2)  # resume: only the failed run runs again
    assert (session["to_run"], session["done"], session["failed"]) == (1, 1, 0)
    assert study.info["status"]["state"] == "complete" and study.info["failures"] == []
    log = [json.loads(line) for line in (study.path / "log.jsonl").read_text().splitlines()]
    assert [e["run_id"] for e in log if e["session"] == 2] == ["p00001-s0"]


def test_cli_failed_run_exits_1_and_resumes(tmp_path):
    study = tmp_path / "s"
    (study / "runs").mkdir(parents=True)
    (study / "runs" / "p00001-s0").write_text("in the way")  # the worker cannot put its run folder here
    args = ["sweep", "--vary", "market.pool_share=0.1,0.3", "--seeds", "2", "--study", str(study), "--workers", "2",
            "--no-report", *TINY[:-1]]  # not --quiet: stderr is a pipe, so progress comes as lines, not a bar
    res = cli(*args)
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "run p00001-s0 failed" in res.stderr and "3 of 4 runs done, 1 failed" in res.stdout
    progress = re.findall(r"^(\d) of 4 runs, (\d) failed \(\d+:\d\d elapsed\)$", res.stderr, re.M)
    assert [n for n, _ in progress] == ["1", "2", "3", "4"] and progress[-1][1] == "1", res.stderr
    assert json.loads((study / "study.json").read_text())["failures"][0]["run_id"] == "p00001-s0"
    (study / "runs" / "p00001-s0").unlink()
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    assert "1 to run" in res.stderr and "4 of 4 runs done, 0 failed" in res.stdout
    assert re.search(r"^4 of 4 runs, 0 failed \(", res.stderr, re.M), res.stderr


def test_a_run_whose_outputs_are_lost_or_damaged_is_pending_and_runs_again(tmp_path):
    """A run is done only with its outputs: a damaged file is one line from `study` and `query` (not DuckDB's
    traceback), and the same command runs it again; so does a deleted one."""
    study = tmp_path / "s"
    args = ["sweep", "--vary", "market.pool_share=0.1,0.3", "--study", str(study), "--workers", "1", "--no-report",
            *TINY]
    assert cli(*args).returncode == 0
    before = run_files(study)
    (study / "runs" / "p00000-s0" / "outputs.parquet").write_text("garbage")
    res = cli("study", str(study))
    one_line_error(res, "p00000-s0/outputs.parquet")
    assert "1 done, 0 failed, 1 pending" in res.stdout
    one_line_error(cli("query", str(study), "SELECT count(*) FROM outputs"), "p00000-s0/outputs.parquet")
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    assert "1 to run" in res.stderr and "2 of 2 runs done" in res.stdout
    (study / "runs" / "p00001-s0" / "outputs.parquet").unlink()
    assert "1 done, 0 failed, 1 pending" in cli("study", str(study)).stdout
    assert "1 to run" in cli(*args).stderr
    shutil.rmtree(study / "runs" / "p00001-s0")  # a save killed after claiming its (empty) folder leaves this:
    (study / "runs" / "p00001-s0").mkdir()
    res = cli(*args)
    assert res.returncode == 0 and "1 to run" in res.stderr, res.stderr
    assert run_files(study) == before
    assert len(Study.open(study).outputs()) == 2


# ------------------------------------------------------------------------------------ stop and resume


def _alive_in_group(pgid: int) -> list[psutil.Process]:
    alive = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except (ProcessLookupError, psutil.Error):
            pass
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "kill"])
def test_stopped_study_resumes_without_redoing_or_losing_runs(tmp_path, how):
    study = tmp_path / "s"
    args = [sys.executable, "-m", "northroute", "sweep", "--vary", "market.pool_share=0.1:0.9:0.05", "--seeds",
            "2", "--study", str(study), "--workers", "2", "--scale", "0.005", "--years", "0.3", "--set",
            "time.burn_in_weeks=2", "--quiet", "--no-report"]
    expected = {f"p{p:05d}-s{s}" for p in range(17) for s in range(2)}
    # a non-interactive shell starts background jobs (pytest ... &) with SIGINT ignored, and the study would
    # inherit that; a terminal's foreground job, which this test plays, has it at its default
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while len(list(study.glob("runs/p*/manifest.json"))) < 4:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
        else:
            os.kill(proc.pid, signal.SIGKILL)  # the driver only: its workers must notice and stop
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    if how == "ctrl-c":
        assert proc.returncode == 130 and "run the same command to resume" in stderr, stderr
    deadline = time.monotonic() + 30
    while _alive_in_group(proc.pid):  # no worker outlives its driver
        assert time.monotonic() < deadline, _alive_in_group(proc.pid)
        time.sleep(0.1)
    finished = {p.parent.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in study.glob("runs/p*/manifest.json")}
    assert 4 <= len(finished) < len(expected)

    res = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{len(finished)} done already, {len(expected) - len(finished)} to run" in res.stderr
    runs = study / "runs"
    assert {p.name for p in runs.iterdir()} == expected  # every run exactly once, no temporary folder left
    again = {name: (runs / name / "manifest.json").stat() for name in finished}
    assert {n: (s.st_ino, s.st_mtime_ns) for n, s in again.items()} == finished  # finished runs not redone
    log = [json.loads(line) for line in (study / "log.jsonl").read_text().splitlines()]
    last_session = max(e["session"] for e in log)
    assert not {e["run_id"] for e in log if e["session"] == last_session} & finished.keys()
    done = [e["run_id"] for e in log if e["status"] == "done"]
    assert len(done) == len(set(done))  # no run was executed twice
    info = json.loads((study / "study.json").read_text())
    assert info["status"]["done"] == len(expected) and info["status"]["state"] == "complete"


# ------------------------------------------------------------------------------------------ sensitivity


@pytest.mark.parametrize("method, n, points", [
    ("morris", "3", 12),
    pytest.param("sobol", "4", 20, marks=pytest.mark.slow),
])
def test_sensitivity_study(tmp_path, method, n, points):
    params = tmp_path / "params.toml"
    params.write_text('"market.adulteration" = [0.1, 0.4]\n"trafficking.inspection_multiplier" = [0.05, 1.0]\n'
                      '"policing.crackdown_chance" = [0.2, 0.8]\n')  # no violence, so no crackdown: no effect
    study = tmp_path / method
    res = cli("sensitivity", "baseline-2012", "--method", method, "--params", str(params), "--n", n, "--study",
              str(study), "--workers", "2", *TINY)
    assert res.returncode == 0, res.stderr
    assert f"{points} of {points} runs done" in res.stdout
    few = f"warning: N = {n} (--n): with fewer than {10 if method == 'morris' else 256}"  # rough, and said so
    assert few in res.stderr.splitlines()[0]  # before the runs, not after them
    assert f"N = {n} (--n): with fewer than" in (study / "report.html").read_text()
    assert pd.read_parquet(study / "sample.parquet").shape == (points, 3)
    res = cli("query", str(study), "SELECT * FROM sensitivity WHERE output = 'heroin_retail_price' "
                                   "ORDER BY parameter", "--format", "json")
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["parameter"] for r in rows] == ["market.adulteration", "policing.crackdown_chance",
                                              "trafficking.inspection_multiplier"]
    key = "mu_star" if method == "morris" else "ST"
    adulteration = rows[0]
    assert adulteration[key] > 0 and adulteration[f"{key}_conf"] >= 0 and adulteration["note"] == ""
    report = (study / "report.html").read_text()
    assert f"Sensitivity ({method})" in report and "indices-heroin_retail_price" in report
    idle = [r["parameter"] for r in rows if r[key] == 0]
    assert idle, "expected policing.crackdown_chance to have no effect in these runs (no violent dispute)"
    section = report[report.index("indices-heroin_retail_price"):]
    assert f"every step left this output as it was): {', '.join(idle)}." in section.split("<h3>")[0]


# ------------------------------------------------------------------------------------------- bad input


def _params_file(tmp: Path, text: str) -> str:
    (tmp / "p.toml").write_text(text)
    return str(tmp / "p.toml")


@pytest.mark.parametrize("make_args, fragment", [
    (lambda t: ["sweep", "--vary", "market.nope=1:2:1"], "unknown parameter 'market.nope'"),
    (lambda t: ["sweep", "--vary", "market.adulteration=0.4:0:0.1"], "empty range"),
    (lambda t: ["sweep", "--vary", "market.adulteration=0:0.4"], "start:stop:step"),
    (lambda t: ["sweep", "--vary", "market.adulteration=0:1:0.5"], "market.adulteration"),
    (lambda t: ["sweep", "--vary", "market.adulteration=x:1:0.5"], "not a number"),
    (lambda t: ["sweep", "--seeds", "0"], "--seeds"),
    (lambda t: ["sweep", "--set", "market.nope=1"], "unknown parameter 'market.nope'"),
    (lambda t: ["sweep", "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1"],
     "cannot reach the Dask scheduler"),
    (lambda t: ["sweep", "--scheduler", "127.0.0.1"], "tcp://HOST:8786"),
    (lambda t: ["sweep", "--output", "nope"], "--output"),
    (lambda t: ["sweep", "--from-year", "2030"], "--from-year must be a recorded year, 2012 to 2019, got 2030"),
    (lambda t: ["sensitivity", "--from-year", "2011", "--params", _params_file(t, '"market.adulteration" = [0, 0.5]')],
     "--from-year must be a recorded year"),
    (lambda t: ["sweep"], "--study"),
    (lambda t: ["sensitivity", "--params", str(t / "missing.toml")], "not found"),
    (lambda t: ["sensitivity", "--params", str(t)], "is a folder, not a file of parameter ranges"),
    (lambda t: ["sweep", "--vary", "market.adulteration=0.1,0.2", "--set", "market.adulteration=0.3"],
     "market.adulteration is both varied by the design and fixed"),
    (lambda t: ["sweep", "--vary", "population.scale=0.01,0.02", "--scale", "0.05"], "population.scale is both"),
    (lambda t: ["sensitivity", "--set", "market.adulteration=0.3", "--params",
                _params_file(t, '"market.adulteration" = [0.1, 0.4]')], "market.adulteration is both"),
    (lambda t: ["sensitivity", "--params", _params_file(t, '"market.nope" = [0, 1]')], "unknown parameter"),
    (lambda t: ["sensitivity", "--params", _params_file(t, '"market.adulteration" = [0.1, 0.9]')],
     "market.adulteration"),
    (lambda t: ["sensitivity", "--method", "fast", "--params", _params_file(t, '"market.adulteration" = [0, 1]'
                                                                            .replace("1]", "0.5]"))], "--method"),
    (lambda t: ["sensitivity", "--method", "sobol", "--params", _params_file(t, '"market.adulteration" = [0, 0.5]')],
     "at least two"),
    (lambda t: ["sensitivity", "--sample-seed", "-1", "--params",
                _params_file(t, '"market.adulteration" = [0, 0.5]')], "--sample-seed must be 0 or more"),
    (lambda t: ["sensitivity", "--method", "sobol", "--n", "3", "--params",
                _params_file(t, '"market.adulteration" = [0, 0.5]\n"market.pool_discount" = [0, 0.3]')],
     "--n must be a power of 2"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, make_args, fragment):
    """In-process through the real entry point (`northroute.cli.main`), which is what the console script runs."""
    from northroute import cli as cli_module

    args = make_args(tmp_path)
    if "--study" not in fragment:
        args += ["--study", str(tmp_path / "study")]
    before = set(tmp_path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["northroute", *args, "--quiet"])
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main()
    err = capsys.readouterr().err
    one_line_error(subprocess.CompletedProcess(args, exit_info.value.code, "", err), fragment)
    assert set(tmp_path.rglob("*")) == before


def test_a_study_folder_is_run_by_one_driver_at_a_time(tmp_path):
    plan = plan_sweep("baseline-2012", [], seeds=1, overrides=TINY_SETS)
    study, _ = run_study(plan, tmp_path / "s", workers=1)
    from northroute.experiments.store import StudyError, locked

    with locked(study.path), pytest.raises(StudyError, match="being run by pid"):
        run_study(plan, tmp_path / "s", workers=1)
    with pytest.raises(StudyError, match="not a study folder"):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "notes.txt").write_text("mine")
        run_study(plan, tmp_path / "other", workers=1)
    assert Study.open(study.path).info["status"]["done"] == 1


def test_the_many_lots_warning_of_a_study_counts_the_points_a_run_would_warn_of():
    """`study.many_lots` works on the design's columns at once; each point's count must be the one `run` warns
    of, whichever of the lots' size, the flow, the scale and the scale flag a point varies."""
    from northroute.experiments.study import many_lots
    from northroute.processes import supply

    plan = plan_sweep("baseline-2012", ["supply.marijuana_lot_kg=0.1,0.25,30", "supply.marijuana_kg_per_year=150000,"
                                        "2000000", "supply.lots_follow_scale=true,false", "population.scale=0.01,1"])
    scens = [nr.load_scenario("baseline-2012", [f"{k}={v}" for k, v in plan.design.overrides(i)])
             for i in range(len(plan.design.points))]
    lots = [supply.lots_per_week(s.supply, s.population.scale) for s in scens]
    warned = sum(bool(supply.many_lots(s)) for s in scens)
    assert 0 < warned < len(scens)
    assert many_lots(plan) == [supply.many_lots_line(
        f"at {warned} of {len(scens)} design points more than 50,000 lots a week enter the routes, up to about "
        f"{max(lots):,.0f}")]
    assert many_lots(plan_sweep("baseline-2012", ["market.adulteration=0,0.2"])) == []


def test_a_study_warns_of_timeline_steps_outside_any_of_its_runs():
    """`run`'s warnings of steps that never act or act from the start, for a study: at every point, or at the
    design point where each names the most steps when the design varies the start or the length; none when every
    point reaches every step."""
    from northroute.experiments.study import late_steps

    short = late_steps(plan_sweep("anticorruption-2015", ["time.years=2,8"]))
    assert len(short) == 1 and short[0].startswith("at design point 0, the run's last week starts on 2013-")
    assert "2014-01-06, 2015-01-05" in short[0]
    assert late_steps(plan_sweep("anticorruption-2015", ["time.years=8,9"])) == []
    assert late_steps(plan_sweep("anticorruption-2015", ["market.adulteration=0,0.2"], overrides=["time.years=3"]))[
        0].startswith("at every design point, the run's last week starts on 2014-")
    # a varied start: the later start puts the strategy's first steps before it, the earlier one its last after
    both = late_steps(plan_sweep("anticorruption-2015", ["time.start=2012-01-02,2016-01-04"],
                                 overrides=["time.years=3"]))
    assert len(both) == 2
    assert both[0].startswith("at design point 0, the run's last week starts on 2014-")
    assert both[1].startswith("at design point 1, the run starts on 2016-01-04: the timeline steps of 2014-01-06, "
                              "2015-01-05")


# ------------------------------------------------------------------------------------ outputs from a year


@pytest.fixture(scope="module")
def two_years() -> nr.Results:
    return nr.run(nr.load_scenario("baseline-2012", ["population.scale=0.005", "time.years=1.5",
                                                     "time.burn_in_weeks=2"]), seed=1)


def test_outputs_from_a_year_read_its_weeks_only(two_years):
    """`--from-year`: every output but the distances and the price check reads the weeks from 1 January on, as
    its rates and means over those weeks, not over the whole run."""
    ts, man = two_years.timeseries, two_years.manifest
    late = ts[pd.to_datetime(ts.date) >= pd.Timestamp(2013, 1, 1)]
    values, whole = outputs.compute(ts, man, 2013), outputs.compute(ts, man)
    assert values == pytest.approx(outputs.compute(late, man) | {o.name: whole[o.name] for o in outputs.OUTPUTS
                                                                   if o.whole_run}, nan_ok=True)
    scale = man["scenario"]["population"]["scale"]
    arrests = late[(late.metric == "arrests") & (late.level == "retail") & (late.world == "true")
                   & (late.place == "KZ")]
    assert late.week.nunique() < ts.week.nunique() / 2
    assert values["retail_arrests_year"] == pytest.approx(
        arrests.value.sum() / scale / (late.week.nunique() / WEEKS_PER_YEAR))
    assert values["retail_arrests_year"] != pytest.approx(whole["retail_arrests_year"])


def test_a_study_from_a_year_stores_those_outputs_and_keeps_its_year(tmp_path):
    sets = ["population.scale=0.005", "time.years=1.1", "time.burn_in_weeks=2"]
    plan = plan_sweep("baseline-2012", [], seeds=1, overrides=sets, from_year=2013)
    study, _ = run_study(plan, tmp_path / "s", workers=1)
    assert study.from_year == 2013 and Study.open(study.path).from_year == 2013
    run = nr.Results.load(study.runs_dir / "p00000-s0")
    stored = study.outputs().drop(columns=["run_id", "point", "seed"]).iloc[0].to_dict()
    assert stored == pytest.approx(outputs.compute(run.timeseries, run.manifest, 2013), nan_ok=True)
    from northroute.experiments.store import StudyError

    for other in (None, 2012):
        with pytest.raises(StudyError, match="reads its outputs from 1 January 2013"):
            run_study(plan_sweep("baseline-2012", [], seeds=1, overrides=sets, from_year=other), study.path, workers=1)
    with pytest.raises(ScenarioError, match="--from-year must be a recorded year, 2012 to 2012, got 2013 "
                                            r"\(at design point 0\)"):
        plan_sweep("baseline-2012", ["time.years=0.5,2"], overrides=sets[::2], from_year=2013)
    with pytest.raises(ScenarioError, match=r"2010 to 2011, got 2013 \(at design point 1\)"):
        plan_sweep("baseline-2012", ["time.start=2012-01-02,2010-01-04"], overrides=sets, from_year=2013)
    from northroute.experiments.study import short_period

    assert short_period(plan) == ["at every design point, --from-year 2013 leaves 4 recorded weeks to read "
                                  "(2013-01-07 to 2013-01-28): the outputs' rates and means rest on them"]
    assert short_period(plan_sweep("baseline-2012", [], overrides=["time.years=3"], from_year=2013)) == []
    empty = outputs.compute(run.timeseries, run.manifest, 2030)  # no week to read: NaN, not a division by zero
    assert all(np.isnan(empty[o.name]) for o in outputs.OUTPUTS if not o.whole_run)


def test_a_sweep_varies_the_value_a_timeline_step_sets(tmp_path):
    """`--vary section.field@DATE=...`: each point's runs get that step's value, the start value is untouched,
    and the design holds the values the runs use."""
    plan = plan_sweep("anticorruption-2015", ["anticorruption.detect_rate@2015-01-05=0.1,0.8"])
    assert plan.design.points["anticorruption.detect_rate@2015-01-05"].tolist() == [0.1, 0.8]
    from northroute.scenario import apply_override

    for point, rate in enumerate((0.1, 0.8)):
        scen = plan.scenario.model_copy(deep=True)
        for name, value in plan.design.overrides(point):
            scen = apply_override(scen, name, value)
        assert {str(ev.date): ev.set for ev in scen.timeline}["2015-01-05"]["anticorruption.detect_rate"] == rate
        assert scen.anticorruption.detect_rate == plan.scenario.anticorruption.detect_rate
    with pytest.raises(ScenarioError, match="--vary: anticorruption.detect_rate@2015-01-05: Input should be less"):
        plan_sweep("anticorruption-2015", ["anticorruption.detect_rate@2015-01-05=0.1,9"])


def test_a_study_made_before_a_parameter_existed_resumes_at_its_default(tmp_path):
    """A parameter added to the model since a study was made, at its default, does not make it another study;
    set away from its default, it does."""
    from northroute.experiments.store import STUDY_FILE, StudyError, spec_hash

    plan = plan_sweep("baseline-2012", ["market.adulteration=0.2,0.25"], seeds=1, overrides=TINY_SETS)
    study, _ = run_study(plan, tmp_path / "s", workers=1)
    info = json.loads((study.path / STUDY_FILE).read_text())
    del info["scenario"]["corruption"]["team_shield_ratio"]  # as a study of session 35 wrote it
    info["spec_hash"] = spec_hash({"kind": info["kind"], "scenario": info["scenario"], "design": info["design"]})
    (study.path / STUDY_FILE).write_text(json.dumps(info))
    again, _ = run_study(plan_sweep("baseline-2012", ["market.adulteration=0.2,0.25"], seeds=2,
                                    overrides=TINY_SETS), study.path, workers=1)
    assert again.info["status"]["done"] == 4
    with pytest.raises(StudyError, match=r"another scenario \(corruption.team_shield_ratio: None there, 2.0 now"):
        run_study(plan_sweep("baseline-2012", ["market.adulteration=0.2,0.25"], seeds=2,
                             overrides=[*TINY_SETS, "corruption.team_shield_ratio=2"]), study.path, workers=1)
