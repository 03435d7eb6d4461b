"""The command line as a user meets it: runs, summaries, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import northroute as nr
from tests.conftest import tiny
from tests.helpers import cli, one_line_error

TINY = ["--scale", "0.01", "--years", "0.3", "--set", "time.burn_in_weeks=4", "--quiet"]


def test_run_json_writes_a_complete_run_folder(tmp_path):
    res = cli("run", *TINY, "--seed", "7", "--json", "--no-report", "--out", str(tmp_path / "runs"))
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == tmp_path / "runs"
    for name in ("timeseries.parquet", "events.parquet", "manifest.json"):
        assert (run_dir / name).is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["scenario"]["population"]["scale"] == 0.01
    assert manifest["rows_by_kind"]["people_user"] > 0
    assert manifest["weeks_recorded"] == 16 and manifest["weeks_simulated"] == 20
    assert manifest["wall_time_s"] > 0
    assert manifest["code_version"]
    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    assert list(ts.columns) == ["week", "date", "place", "substance", "level", "metric", "world", "value"]
    assert set(ts["world"].unique()) == {"true", "recorded"}
    assert {r["substance"] for r in summary["substances"]} == {"heroin", "marijuana", "hashish"}
    assert not any(p.name.startswith(".tmp") for p in run_dir.parent.iterdir())


def test_the_summarys_first_year_prices_are_the_reports_2012_prices():
    """`run` prints, and its report tabulates, the mean national price of 2012 against Table 5.6: the same
    weeks (the 53 Mondays of 2012, not the run's first 52 weeks) and the same numbers."""
    from northroute.report.figures import price_comparison
    from northroute.results import summarize

    results = nr.run(tiny("time.years=1.2"), seed=2)
    summary = summarize(results)
    table = price_comparison(results.timeseries, 2012)
    assert summary["first_year"] == 2012 and summary["first_year_weeks"] == 53 and (table["weeks"] == 53).all()
    for r in summary["substances"]:
        for level in ("wholesale", "retail"):
            assert r[f"{level}_price_first_year"] == pytest.approx(table.loc[(r["substance"], level), "model_mean"])


def test_run_scenario_file_with_sets(tmp_path):
    scen = tmp_path / "mine.toml"
    scen.write_text('extends = "baseline-2012"\nname = "mine"\n[market]\npool_share = 0.5\n')
    res = cli("run", str(scen), *TINY, "--set", "market.adulteration=0.2", "--json", "--no-report",
              "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.splitlines()[-1])
    run_dir = Path(summary["run_dir"])
    market = json.loads((run_dir / "manifest.json").read_text())["scenario"]["market"]
    assert (market["pool_share"], market["adulteration"]) == (0.5, 0.2)
    assert run_dir.name.startswith("mine-s0-")
    # what the file and --set changed is named (the run settings, burn-in among them, are shown apart)
    assert summary["changed"] == [{"parameter": "market.adulteration", "value": 0.2, "default": 0.25},
                                  {"parameter": "market.pool_share", "value": 0.5, "default": 0.3}]


def test_human_summary(tmp_path):
    res = cli("run", *TINY, "--no-report", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "Flows by route" in res.stdout and "CHU_NORTH" in res.stdout and "heroin" in res.stdout
    assert "run folder:" in res.stdout
    text = " ".join(res.stdout.split())  # rich wraps titles and headers to the columns
    assert "By substance (simulated rows: kg over the run, users and dealers in the last week)" in text  # not all kg


def _bad_toml(tmp: Path) -> str:
    (tmp / "bad.toml").write_text("name = [\n")
    return str(tmp / "bad.toml")


def _write(tmp: Path, name: str, text: str | bytes) -> str:
    """A scenario file; a.toml's parent b.toml extends it back (a cycle)."""
    (tmp / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    if name == "a.toml":
        (tmp / "b.toml").write_text('extends = "a.toml"\n')
    return str(tmp / name)


def _folder(tmp: Path, name: str) -> str:
    (tmp / name).mkdir()
    return str(tmp / name)


def _not_a_folder(tmp: Path) -> str:
    (tmp / "afile").write_text("x")
    return str(tmp / "afile" / "runs")


@pytest.mark.parametrize("make_args, fragment", [
    (lambda t: ["run", "no-such-scenario"], "unknown scenario"),
    (lambda t: ["run", _bad_toml(t)], "bad TOML"),
    (lambda t: ["run", "--set", "market.nope=1"], "unknown parameter 'market.nope'"),
    (lambda t: ["run", "--set", "market.adulteration=2"], "market.adulteration"),
    (lambda t: ["run", "--set", "market.adulteration", "0.2"],
     "--set needs section.field=value, got 'market.adulteration'"),
    (lambda t: ["run", "--years", "-1"], "time.years"),
    (lambda t: ["run", "--scale", "abc"], "--scale"),
    (lambda t: ["run", "--nonsense"], "--nonsense"),
    (lambda t: ["run", "--out", _not_a_folder(t)], "cannot write to output folder"),
    (lambda t: ["run", "--out", str(Path(_not_a_folder(t)).parent)], "it is a file, not a folder"),
    (lambda t: ["run", _write(t, "a.toml", 'extends = "b.toml"'), "--scale", "0.01"], "extends itself"),
    (lambda t: ["run", _write(t, "n.toml", 'name = "../../x"'), "--scale", "0.01"], "plain file name"),
    (lambda t: ["run", _write(t, "l1.toml", b'name = "caf\xe9"'), "--scale", "0.01"], "cannot read"),
    (lambda t: ["run", "foo[/x]"], "unknown scenario 'foo[/x]'"),
    (lambda t: ["run", _folder(t, "d.toml")], "d.toml is a folder, not a scenario file"),
    (lambda t: ["run", "--set", "population.heroin_users=0", "--set", "population.cannabis_users=0"],
     "a market needs users"),
    (lambda t: ["run", "--set", "time.start=2012-01-04"], "must be a Monday"),
    (lambda t: ["validate", "--set", "time.years=1"], "with --years"),
    (lambda t: ["validate", "--years", "2", "--scale", "0.01"],
     "does not record 2014, 2015, 2016, 2017 (--years 5.98 or more)"),
    (lambda t: ["calibrate", "--years", "5"], "calibrate: the targets read the whole years 2012-2017; "
     "anticorruption-2015 run for 5 years from 2012-01-02 does not record 2017 (--years 5.98 or more)"),
    (lambda t: ["validate", _write(t, "late.toml", 'extends = "baseline-2012"\n[time]\nstart = 2012-01-16\n'),
                "--scale", "0.01"], "no run from 2012-01-16 records them all"),
    (lambda t: ["validate", _write(t, "late.toml", 'extends = "baseline-2012"\n[time]\nstart = 2012-01-30\n'),
                "--scale", "0.01"], "no run from 2012-01-30 records them all"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, make_args, fragment):
    args = make_args(tmp_path)
    before = set(tmp_path.rglob("*"))
    res = cli(*args, "--quiet", cwd=tmp_path)
    one_line_error(res, fragment)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert set(tmp_path.rglob("*")) - before <= {tmp_path / "runs"}


STEPS = ('name = "steps"\nextends = "baseline-2012"\n[[timeline]]\ndate = 2012-02-06\n'
         'set = { "anticorruption.detect_rate" = 0.4 }\n[[timeline]]\ndate = 2013-01-07\n'
         'set = { "anticorruption.detect_rate" = 0.6 }\n')
SET_WARNING = ("warning: the value given for anticorruption.detect_rate holds only until the timeline of steps "
               "changes it on 2012-02-06")


def test_run_warns_of_timeline_steps_that_change_a_set_value_or_never_act(tmp_path):
    """--set gives the start value only (a step on the same parameter still acts), and a step dated after the
    run's last week never acts: one warning line each, before the run."""
    (tmp_path / "steps.toml").write_text(STEPS)
    res = cli("run", str(tmp_path / "steps.toml"), *TINY, "--set", "anticorruption.detect_rate=0", "--json",
              "--no-report", "--out", str(tmp_path / "runs"))
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines() == [
        SET_WARNING, "warning: the run's last week starts on 2012-04-16: the timeline steps of 2013-01-07 are not "
                     "applied"]


def test_run_warns_of_a_scenario_that_makes_very_many_lots(tmp_path):
    """Marijuana lots of 0.1 kg in 600 t a year are allowed values but make ~79,000 lots a week (the defaults ~150),
    and a run's time and memory grow with them: one warning line before the run."""
    res = cli("run", "--scale", "0.001", "--years", "0.02", "--set", "time.burn_in_weeks=1", "--set",
              "supply.marijuana_lot_kg=0.1", "--set", "supply.marijuana_kg_per_year=600000", "--quiet", "--no-report",
              "--out", str(tmp_path / "runs"))
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines() == [
        "warning: about 78,691 lots a week enter the routes (the defaults make about 147); a run's time and memory "
        "grow with them (raise supply.*_lot_kg to make fewer, larger lots)"]


def test_sweep_warns_of_design_points_that_make_very_many_lots(tmp_path):
    """The same warning for a study, counting the design points it concerns (here one of two); and `run`'s warning
    of timeline steps after the run's last week, here all of the strategy's."""
    res = cli("sweep", "--study", str(tmp_path / "study"), "anticorruption-2015", "--vary",
              "supply.marijuana_lot_kg=0.1,30", "--scale",
              "0.001", "--years", "0.02", "--set", "time.burn_in_weeks=1", "--set",
              "supply.marijuana_kg_per_year=600000", "--no-report", "--quiet", "--workers", "1")
    assert res.returncode == 0, res.stderr
    late, many = res.stderr.strip().splitlines()[:2]
    assert late.startswith("warning: at every design point, the run's last week starts on 2012-01-02: the timeline "
                           "steps of 2014-01-06, ")
    assert many == (
        "warning: at 1 of 2 design points more than 50,000 lots a week enter the routes, up to about 78,691 (the "
        "defaults make about 147); a run's time and memory grow with them (raise supply.*_lot_kg to make fewer, "
        "larger lots)")


def test_sweep_warns_of_timeline_steps_that_change_a_set_or_varied_value(tmp_path):
    (tmp_path / "steps.toml").write_text(STEPS)
    res = cli("sweep", "--study", str(tmp_path / "study"), str(tmp_path / "steps.toml"), "--vary",
              "anticorruption.detect_rate=0,0.1", "--years", "0.2", "--scale", "0.01", "--set", "time.burn_in_weeks=4",
              "--no-report", "--quiet", "--workers", "1")
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines()[0] == SET_WARNING


def test_existing_runs_are_kept(tmp_path):
    out = tmp_path / "runs"
    first = cli("run", *TINY, "--json", "--no-report", "--out", str(out))
    second = cli("run", *TINY, "--json", "--no-report", "--out", str(out))
    d1 = Path(json.loads(first.stdout.splitlines()[-1])["run_dir"])
    d2 = Path(json.loads(second.stdout.splitlines()[-1])["run_dir"])
    assert d1 != d2 and d1.is_dir() and d2.is_dir()


def test_runs_saved_at_once_take_distinct_folders(tmp_path):
    """Two savers of the same scenario and seed (two dashboard tabs, a tab and a command line) each get a folder
    of their own, named in their manifest; without `unique` an existing name is refused and nothing is left."""
    out = tmp_path / "runs"
    results = nr.run(tiny(), seed=1)
    with ThreadPoolExecutor(4) as pool:
        saved = list(pool.map(lambda _: results.save(out, "same", unique=True), range(4)))
    assert sorted(p.name for p in saved) == ["same", "same-2", "same-3", "same-4"]
    assert sorted(p.name for p in out.iterdir()) == ["same", "same-2", "same-3", "same-4"]  # no temporary folder
    assert all(json.loads((p / "manifest.json").read_text())["run_dir"] == str(p) for p in saved)
    with pytest.raises(FileExistsError):
        results.save(out, "same")
    assert sorted(p.name for p in out.iterdir()) == ["same", "same-2", "same-3", "same-4"]


def test_a_claim_left_by_a_killed_saver_is_taken_over(tmp_path):
    """A study's run whose saver was killed between claiming its folder and moving its files in leaves the
    folder empty; the rerun of that run (Dask reschedules it) takes it over instead of failing with
    FileExistsError (seen in CI, test_a_killed_worker_loses_no_run). A folder with files is still refused."""
    out = tmp_path / "runs"
    (out / "p00001-s0").mkdir(parents=True)
    results = nr.run(tiny(), seed=1)
    saved = results.save(out, "p00001-s0")
    assert saved == out / "p00001-s0" and (saved / "manifest.json").is_file()
    assert [p.name for p in out.iterdir()] == ["p00001-s0"]
    with pytest.raises(FileExistsError):
        results.save(out, "p00001-s0")
    assert [p.name for p in out.iterdir()] == ["p00001-s0"] and (saved / "manifest.json").is_file()


def test_scenarios_and_params():
    res = cli("scenarios")
    assert res.returncode == 0 and "baseline-2012" in res.stdout
    res = cli("params", "--json")
    rows = json.loads(res.stdout)
    assert any(r["name"] == "market.adulteration" and r["provenance"] for r in rows)
    by_name = {r["name"]: r for r in rows}  # the kind of evidence, and the screening, in structured form
    assert by_name["supply.heroin_kg_per_year"]["kind"] == "assumption" and by_name["supply.heroin_kg_per_year"][
        "screened"]
    assert by_name["market.adulteration"]["kind"] == "sourced rule, assumed value"  # "value assumption: ..."
    assert by_name["relations.vory_replaces_police"]["kind"] == "sourced rule, assumed value"  # M68 [interp]
    assert by_name["population.heroin_users"]["kind"] == "value from another source"
    assert not by_name["population.heroin_users"]["screened"]
    assert sum(r["screened"] for r in rows) == 22 + 30  # the two shipped screenings' parameters (docs/studies.md)
    assert by_name["corruption.clients_per_protector"]["screened"]  # the second, of enforcement (session 35)
    assert {r["kind"] for r in rows if r["screened"]} == {"assumption", "sourced rule, assumed value"}
    assert by_name["time.years"]["kind"] == "run setting" and by_name["population.scale"]["kind"] == "run setting"
    assert by_name["policing.drug_officers"]["start_only"] and by_name["time.years"]["start_only"]
    assert not by_name["market.adulteration"]["start_only"]
    res = cli("params", "--section", "supply")
    assert res.returncode == 0 and "heroin_kg_per_year" in res.stdout
    assert "meaning" in res.stdout and "Afghan" in res.stdout  # what each parameter does, not only its source
    assert cli("params", "--section", "nope").returncode == 2
    one_line_error(cli("params", "--section", "policng"), "did you mean 'policing'")


def test_prices_beyond_the_reported_rise_are_flagged() -> None:
    """A yearly price above six times Table 5.6's 2012 price is flagged (L1378), in any year: national prices
    against the national average, regional ones against the dearest region's; one warning per drug and
    level, at its peak."""
    from northroute.results import price_peaks, price_warning, run_price_rise, run_warnings

    def price_warnings(*args):
        return [price_warning(peak) for peak in price_peaks(*args).to_dict("records")]

    average = pd.Series({("heroin", "retail"): 7375.0, ("marijuana", "retail"): 365.0})
    dearest = pd.Series({("heroin", "retail"): 35000.0, ("marijuana", "retail"): 850.0})
    yearly = pd.Series({("KZ", "heroin", "retail", 2013): 50_000.0, ("KZ", "heroin", "retail", 2014): 60_000.0,
                        ("ALA", "heroin", "retail", 2013): 200_000.0,  # under 6 x 35,000
                        ("ALA", "marijuana", "retail", 2013): 5_000.0,  # under 6 x 850, over 6 x 365
                        ("KZ", "marijuana", "retail", 2013): 2_000.0})
    yearly.index.names = ["place", "substance", "level", "year"]
    warnings = price_warnings(yearly, average, dearest)
    assert len(warnings) == 1 and "retail heroin price reaches 60,000 KZT/g nationally in 2014, 8 times" in warnings[0]
    yearly[("SEV", "marijuana", "retail", 2015)] = 6_000.0
    warnings = price_warnings(yearly, average, dearest)
    assert len(warnings) == 2 and "6,000 KZT/g in SEV in 2015, 7 times" in warnings[1]

    ts = pd.DataFrame({"date": ["2012-01-02", "2015-01-05"], "place": "KZ", "metric": "price",
                       "substance": "heroin", "level": "retail", "value": [50_000.0, 7_000.0]})
    assert len(run_warnings(ts)) == 1 and not run_warnings(ts.assign(value=[7_000.0, 40_000.0]))
    # the study output: the largest rise, flagged or not, so a study can count the runs `run` would warn of
    assert run_price_rise(ts) == pytest.approx(50_000 / 7375) and run_price_rise(ts.assign(value=[7_000.0, 40_000.0])) \
        == pytest.approx(40_000 / 7375)
    from northroute.experiments.study import price_spirals

    out = pd.DataFrame({"run_id": ["p00000-s0", "p00001-s0", "p00002-s0"], "price_peak_rise": [2.0, 7.5, 12.0]})
    assert price_spirals(out).startswith("2 of 3 runs reach a yearly mean price more than 6 times Table 5.6's")
    assert "the highest, 12 times, in run p00002-s0" in price_spirals(out)
    assert price_spirals(out.assign(price_peak_rise=5.9)) == "" == price_spirals(out.drop(columns="price_peak_rise"))


def test_a_run_repeats_from_its_manifest_and_a_folder_does_not_hide_a_built_in(tmp_path):
    """`northroute run RUN/manifest.json` reruns the scenario the run started from, identically; a folder named
    like a built-in scenario (say, an --out folder) does not shadow it."""
    (tmp_path / "baseline-2012").mkdir()
    args = ["--scale", "0.01", "--years", "0.2", "--set", "time.burn_in_weeks=4", "--no-report", "--json"]
    first = cli("run", "baseline-2012", *args, "--seed", "3", "--out", "a", cwd=tmp_path)  # the rerun takes seed 3
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / json.loads(first.stdout.strip().splitlines()[-1])["run_dir"]
    again = cli("run", str(run_dir / "manifest.json"), "--no-report", "--json", "--out", "b", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    rerun = tmp_path / json.loads(again.stdout.strip().splitlines()[-1])["run_dir"]
    assert (run_dir / "timeseries.parquet").read_bytes() == (rerun / "timeseries.parquet").read_bytes()
    assert rerun.name == run_dir.name and json.loads((rerun / "manifest.json").read_text())["seed"] == 3


@pytest.fixture
def saved_run(tmp_path, tiny_results) -> Path:
    """A copy of the session's tiny run (with its 2012 network snapshot) in a folder of the test's own."""
    return tiny_results.save(tmp_path, "copyrun")


def test_a_damaged_or_missing_run_file_is_named_in_one_line(saved_run):
    (saved_run / "network.parquet").write_text("garbage")
    one_line_error(cli("network", str(saved_run), "--year", "2012"),
                   "network.parquet is damaged (not a readable Parquet file)")
    one_line_error(cli("report", str(saved_run)), "network.parquet is damaged (not a readable Parquet file)")
    (saved_run / "network.parquet").unlink()  # optional: runs of older versions have none
    (saved_run / "events.parquet").unlink()
    one_line_error(cli("report", str(saved_run)), f"cannot read the run in {saved_run}: events.parquet is missing")
    (saved_run / "manifest.json").write_text("")
    one_line_error(cli("report", str(saved_run.parent)),
                   f"cannot read the run in {saved_run}: manifest.json is damaged (not readable JSON)")


def test_an_out_file_must_have_its_formats_suffix(saved_run):
    """A slip in --out must not overwrite a run's own data with a report or a network file."""
    before = {p.name: p.read_bytes() for p in saved_run.iterdir()}
    one_line_error(cli("report", str(saved_run), "--out", str(saved_run / "timeseries.parquet")),
                   "--out must be a .html file")
    one_line_error(cli("network", str(saved_run), "--year", "2012", "--out", str(saved_run / "manifest.json")),
                   "--out must be a .gexf file")
    one_line_error(cli("network", str(saved_run), "--year", "2012", "--format", "graphml", "--out",
                       str(saved_run / "net.gexf")), "--out must be a .graphml file")
    assert {p.name: p.read_bytes() for p in saved_run.iterdir()} == before


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_network_export_keeps_every_tie_of_a_pair(saved_run, fmt):
    """Two people tied in two ways (say supply and kin) are two edges, as in network.parquet, each with its kind;
    each protected wholesaler adds a protection edge from his protector."""
    import networkx as nx

    edges = pd.read_parquet(saved_run / "network.parquet").query("year == 2012")
    clients = pd.read_parquet(saved_run / "network_nodes.parquet").query("year == 2012 and protector >= 0")
    assert len(edges) > len(edges[["src", "dst"]].drop_duplicates())  # the tiny run has such pairs
    res = cli("network", str(saved_run), "--year", "2012", "--format", fmt)
    assert res.returncode == 0, res.stderr
    assert len(clients) and f", {len(edges) + len(clients):,} edges ->" in res.stdout
    g = (nx.read_gexf if fmt == "gexf" else nx.read_graphml)(saved_run / f"network-2012.{fmt}")
    assert sorted(d["kind"] for _, _, d in g.edges(data=True)) == sorted(
        [*edges["kind"].astype(str), *["protection"] * len(clients)])
    officers = {n: d for n, d in g.nodes(data=True) if d.get("role") == "officer"}  # his post, as the run had it
    posts = clients.drop_duplicates("protector").set_index("protector")
    assert {n: (d["agency"], d["rank"]) for n, d in officers.items()} == {
        f"officer-{k}": (str(r.protector_agency), str(r.protector_rank)) for k, r in posts.iterrows()}
    assert set(posts["protector_agency"].astype(str)) <= {"UBN", "patrol"}


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_during_a_run_leaves_no_new_folder(tmp_path, sig, code):
    """Interrupted, `run` writes nothing: the --out folders it created (empty) go too, folders that were there stay.
    SIGTERM (a batch scheduler's stop, `timeout`) is handled as Ctrl-C, with its own exit code."""
    out = tmp_path / "new" / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "northroute", "run", "--scale", "0.01", "--years", "30", "--quiet",
                             "--no-report", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # into the simulation, which runs for about 20 s more (30 years), so the signal finds it running
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "interrupted: nothing was written" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_hides_the_errors_of_half_built_objects_at_shutdown() -> None:
    """A signal can land while numba's compiler builds an llvmlite object; at shutdown its finalizer then fails
    ("Exception ignored in ... Traceback", CI of session 39). After an interrupt, such errors are not shown;
    after a normal end they still are."""
    code = ("from northroute import cli\n"
            "class HalfBuilt:\n"
            "    def __del__(self):\n"
            "        raise AttributeError('no _as_parameter_')\n"
            "kept = HalfBuilt()\n"
            "cli._exit({})\n")
    interrupted = subprocess.run([sys.executable, "-c", code.format(130)], capture_output=True, text=True, timeout=60)
    assert interrupted.returncode == 130 and "Traceback" not in interrupted.stderr, interrupted.stderr
    finished = subprocess.run([sys.executable, "-c", code.format(0)], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0 and "Exception ignored" in finished.stderr


def _on_terminal(args: list[str], columns: int) -> str:
    """What `northroute ARGS` shows on a terminal `columns` wide (a pseudo-terminal), escape codes removed."""
    import fcntl
    import os
    import pty
    import re
    import struct
    import termios

    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "northroute", *args], stdin=side, stdout=side, stderr=side)
    os.close(side)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=600)
    os.close(main)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))


def test_progress_bar_shows_on_an_80_column_terminal(tmp_path):
    """The bar and its count fit beside a short name; what runs is said on a line before it. validate shows its
    bar through the same `_run_sides`, but needs runs of six years (it refuses shorter ones), so only compare
    is run here."""
    shown = _on_terminal(["compare", "baseline-2012", "anticorruption-2015", "--scale", "0.005", "--years", "0.2",
                          "--seeds", "1", "--workers", "1", "--json", "--out", str(tmp_path / "out")], 80)
    frames = [line for line in re.split(r"[\r\n]", shown) if "━" in line]
    assert frames and all(re.search(r"[━╸╺]{10,} +\d+/\d+ runs ", line) and len(line) <= 80 for line in frames), frames
    assert " 1 seed: " in shown
    assert "elapsed)" not in shown  # the log lines are for stderr that is not a terminal
