"""`northroute compare A B`: the claims table with intervals, the report, JSON, one-line errors, and pairing by seed."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import northroute as nr
from northroute.report.compare import (
    CLAIMS,
    check_sides,
    claim_period,
    claims_table,
    differing_dates,
    scenario_differences,
    write_comparison,
)
from northroute.results import Results
from northroute.scenario import load_scenario
from tests.conftest import tiny
from tests.helpers import cli, one_line_error

TINY = ["--scale", "0.01", "--years", "0.3", "--set", "time.burn_in_weeks=4", "--quiet", "--seeds", "2"]


def compare(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return cli("compare", *args, cwd=cwd)


@pytest.fixture(scope="module")
def same(tmp_path_factory) -> dict:
    """A compared with itself: every paired difference must be 0."""
    folder = tmp_path_factory.mktemp("same") / "cmp"
    res = compare("baseline-2012", "baseline-2012", *TINY, "--json", "--out", str(folder))
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_table_report_and_runs(tmp_path):
    folder = tmp_path / "cmp"
    loud = [a for a in TINY if a != "--quiet"]  # stderr is a pipe: progress comes as lines, not a bar
    res = compare("baseline-2012", "anticorruption-2015", *loud, "--out", str(folder))
    assert res.returncode == 0, res.stderr
    progress = re.findall(r"^(\d) of 4 runs, 0 failed \(\d+:\d\d elapsed\)$", res.stderr, re.M)
    assert progress == ["1", "2", "3", "4"], res.stderr  # 2 seeds x 2 sides
    late = [line for line in res.stderr.splitlines() if line.startswith("warning:")]  # B's strategy: after the end
    assert len(late) == 1 and late[0].startswith("warning: B (anticorruption-2015): the run's last week starts on "
                                                 "2012-04-16: the timeline steps of 2014-01-06, ")
    record = json.loads((folder / "comparison.json").read_text())
    kept = record["warnings"]  # kept with the comparison, and shown
    assert kept[0] == late[0].removeprefix("warning: ")
    assert record["scale_note"].startswith("At scale 0.01 the police force is rounded region by region")
    assert "B (anticorruption-2015): the run&#x27;s last week starts on" in (folder / "comparison.html").read_text()
    text = " ".join(res.stdout.replace("│", " ").split())
    for label in ("corrupt officers serving", "protected wholesalers", "heroin retail price", "arrests of users"):
        assert label in text
    assert "SF27" in text and "90% t-interval" in text and "period:" in text
    assert "with at least one line officer in each" in text  # scale 0.01: the force is lumpy (ODD lim. 4)
    assert "the last half of the run" in text  # B's timeline starts in 2014, after these 16 weeks
    csv = pd.read_csv(folder / "comparison.csv", index_col="key")
    assert list(csv.index) == [c.key for c in CLAIMS]
    assert {"A mean", "A lo", "A hi", "B − A", "B − A lo", "B − A hi", "as claimed"} <= set(csv.columns)
    assert csv["as claimed"].isna().all() and "left blank" in text  # B's strategy starts after these 16 weeks
    page = (folder / "comparison.html").read_text()
    assert "<table id='claims'>" in page and "rises (SF17, L1378)" in page
    assert "fig-trend-0" in page and "Side by side" in page  # the existing comparison figures are still there
    for k in range(6):  # flows, map, arrests, their causes, prisoners and corruption, for A and for B
        assert f"fig-side-{k}-a" in page and f"fig-side-{k}-b" in page
    assert "Arrests a year by level" in page and "Drug prisoners by role at arrest" in page
    assert "by what led to them" in page and "police targeting (quota)" in page
    for side in ("A", "B"):
        runs = sorted((folder / side / "runs").iterdir())
        assert len(runs) == 2 and all((r / "manifest.json").is_file() for r in runs)


def test_json_has_a_b_and_diff_with_intervals(same):
    assert same["paired"] and same["a"]["seeds"] == same["b"]["seeds"] == [0, 1]
    assert same["a"]["scale"] == 0.01 and same["a"]["weeks"] == 16
    assert json.loads((Path(same["folder"]) / "comparison.json").read_text()) == same  # kept beside the table
    assert same["period"]["weeks"] == 8 and Path(same["report"]).is_file() and Path(same["csv"]).is_file()
    assert [o["key"] for o in same["outcomes"]] == [c.key for c in CLAIMS]
    for o in same["outcomes"]:
        for side in ("a", "b", "diff"):
            assert set(o[side]) == {"mean", "lo", "hi"}
    price = next(o for o in same["outcomes"] if o["key"] == "heroin_retail_price")
    assert price["a"]["lo"] < price["a"]["mean"] < price["a"]["hi"]
    assert price["claimed_sign"] == 1 and price["claim"].startswith("rises")


def test_identical_scenarios_give_zero_paired_differences(same):
    spread = 0
    for o in same["outcomes"]:
        assert o["a"] == o["b"], o["key"]  # same scenario, same seed: the same run, in another worker process
        if o["diff"]["mean"] is not None:
            assert o["diff"] == {"mean": 0.0, "lo": 0.0, "hi": 0.0}, o["key"]
        spread += o["a"]["lo"] is not None and o["a"]["hi"] > o["a"]["lo"]
    assert spread >= 5  # seeds differ, so only pairing by seed makes every difference exactly 0
    # A against itself is not the anti-corruption strategy, so nothing is judged against the thesis's claims
    assert same["claims_judged"] is False and all(o["as_claimed"] is None for o in same["outcomes"])


def _busy(tmp: Path) -> str:
    (tmp / "busy").mkdir()
    (tmp / "busy" / "keep.txt").write_text("x")
    return str(tmp / "busy")


def _not_a_folder(tmp: Path) -> str:
    (tmp / "afile").write_text("x")
    return str(tmp / "afile" / "cmp")


@pytest.mark.parametrize("make_args, fragment", [
    (lambda t: ["no-such-scenario", "baseline-2012"], "unknown scenario"),
    (lambda t: ["baseline-2012", "anticorruption-2015", "--seeds", "0"], "--seeds must be 1 or more"),
    (lambda t: ["baseline-2012", "anticorruption-2015", "--set", "market.nope=1"], "unknown parameter 'market.nope'"),
    (lambda t: ["baseline-2012", "anticorruption-2015", "--from-year", "2030"], "--from-year"),
    (lambda t: ["baseline-2012", "anticorruption-2015", "--out", _not_a_folder(t)], "cannot write to output folder"),
    (lambda t: ["baseline-2012", "anticorruption-2015", "--out", _busy(t)], "is not empty"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, make_args, fragment):
    args = make_args(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    res = compare(*args, cwd=tmp_path)
    one_line_error(res, fragment)
    assert res.stdout == ""
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_period_defaults_to_bs_first_timeline_date():
    start = date(2012, 1, 2)
    p = claim_period(start, 417, [date(2015, 1, 5), date(2014, 1, 6)])
    assert p.start == date(2014, 1, 6) and p.first_week == 105 and p.last_week == 416
    assert claim_period(start, 417).first_week == 208  # no timeline: the last half
    # the sides differ from the first step they do not share: not the steps a B extending A inherits, and in
    # either order
    def steps(name: str) -> list[dict]:
        return [e.model_dump(mode="json") for e in load_scenario(name).timeline]

    acs, upward = steps("anticorruption-2015"), steps("reform-upward")
    assert differing_dates(upward, acs) == differing_dates(acs, upward) == [date(2015, 1, 5)]
    assert differing_dates(acs)[0] == date(2014, 1, 6) == differing_dates([], acs)[0]  # B the baseline, A the reform
    assert differing_dates(acs, acs) == []
    assert claim_period(start, 16, [date(2014, 1, 6)]).first_week == 8  # timeline after the run: the last half
    assert claim_period(start, 417, [date(2014, 1, 6)], from_year=2016).start == date(2016, 1, 4)
    with pytest.raises(ValueError, match="--from-year"):
        claim_period(start, 417, from_year=2011)


def test_claims_are_judged_when_bs_strategy_acts_inside_the_run(tmp_path):
    """A timeline step that raises corruption detection within the run makes B − A a test of the claims."""
    early = tmp_path / "early.toml"
    early.write_text('name = "early"\nextends = "baseline-2012"\n[[timeline]]\ndate = 2012-02-06\n'
                     'set = { "anticorruption.detect_rate" = 0.4 }\n')
    res = compare("baseline-2012", str(early), *TINY, "--out", str(tmp_path / "cmp"))
    assert res.returncode == 0, res.stderr
    csv = pd.read_csv(tmp_path / "cmp" / "comparison.csv", index_col="key")
    claimed = csv["thesis claim"].notna()
    assert csv.loc[claimed, "as claimed"].isin(["yes", "no", "n/a"]).all() and "left blank" not in res.stdout


def test_compare_warns_when_a_timeline_step_changes_a_set_value(tmp_path):
    """--set applies to both sides at the start; a side whose timeline changes it later is named, once."""
    early = tmp_path / "early.toml"
    early.write_text('name = "early"\nextends = "baseline-2012"\n[[timeline]]\ndate = 2012-02-06\n'
                     'set = { "anticorruption.detect_rate" = 0.4 }\n')
    res = compare("baseline-2012", str(early), "--scale", "0.01", "--years", "0.2", "--set", "time.burn_in_weeks=4",
                  "--set", "anticorruption.detect_rate=0.1", "--seeds", "1", "--quiet", "--out", str(tmp_path / "cmp"))
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines() == [
        "warning: the value given for anticorruption.detect_rate holds only until the timeline of early changes it on "
        "2012-02-06"]


def _variant(res: Results, seed: int | None = None, scale: float | None = None, **setting: object) -> Results:
    """A copy of a run whose manifest says another seed, scale or `section__field` value (same series)."""
    man = copy.deepcopy(res.manifest)
    man["seed"] = man["seed"] if seed is None else seed
    if scale is not None:
        man["scenario"]["population"]["scale"] = scale
    for key, value in setting.items():
        section, field = key.split("__")
        man["scenario"][section][field] = value
    return dataclasses.replace(res, manifest=man, run_dir=None)


def test_a_side_must_be_the_seeds_of_one_scenario(tiny_results):
    """Runs of other settings, or one seed twice, on one side are refused: pooled they would average unlike runs."""
    run = tiny_results
    with pytest.raises(ValueError, match=r"side A mixes runs of different settings: population.scale is 0.01 .* 0.03"):
        check_sides([run, _variant(run, seed=7, scale=0.03)], [run])
    with pytest.raises(ValueError, match="side B mixes runs of different settings: market.adulteration"):
        check_sides([run], [run, _variant(run, seed=7, market__adulteration=0.4)])
    with pytest.raises(ValueError, match="side A has seed 3 twice"):
        check_sides([run, _variant(run)], [run])
    assert check_sides([run, _variant(run, seed=7)], [_variant(run, market__adulteration=0.4)]) == []


def test_settings_that_differ_show_the_timeline_one_step_a_line(tmp_path, tiny_results):
    """The comparison page's settings table gives timeline steps as the run report does, not as a Python list."""
    b = copy.deepcopy(tiny_results)
    b.manifest["scenario"]["timeline"] = [
        {"date": "2014-01-06", "set": {"anticorruption.detect_rate": 0.15}, "note": "AGDS\ncreated"},
        {"date": "2015-01-05", "set": {"anticorruption.bribery_charge": True, "anticorruption.chill": 0.3}},
    ]
    steps = ("2014-01-06: anticorruption.detect_rate = 0.15\n"
             "2015-01-05: anticorruption.bribery_charge = True, anticorruption.chill = 0.3")
    assert scenario_differences(tiny_results, b) == [("timeline", "—", steps)]
    page = write_comparison([tiny_results], [b], tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert steps.replace("\n", "<br>") in page and "AGDS" not in page and "&#x27;set&#x27;" not in page


def test_sides_of_other_scales_or_lengths_are_flagged(tiny_results):
    """A at another scale or length than B: the simulated totals do not compare, and both scales are named."""
    a = _variant(tiny_results, scale=0.03)
    b = dataclasses.replace(tiny_results, manifest=dict(tiny_results.manifest, weeks_recorded=5))
    warnings = check_sides([a], [b])
    assert len(warnings) == 2
    assert "A ran at population scale 0.03 and B at 0.01" in warnings[0] and "B 5" in warnings[1]
    table = claims_table([a], [b], claim_period(date(2012, 1, 2), 26))
    assert table.attrs["warnings"] == warnings
    assert "At scale 0.01" in table.attrs["scale_note"]  # the smaller scale of the two, not A's


def test_report_refuses_mixed_sides_and_warns_on_other_scales(tmp_path, tiny_results):
    """`northroute report A B`: a folder of unlike runs, or one seed twice, is one line and exit 2, nothing written;
    sides at two scales are compared with a one-line warning, also on the page, and the note names both scales."""
    mixed, dup, other = tmp_path / "mixed", tmp_path / "dup", tmp_path / "other"
    tiny_results.save(mixed, "base")
    _variant(tiny_results, seed=7, scale=0.03).save(mixed, "scaled")
    for _ in range(2):
        _variant(tiny_results).save(dup, "base", unique=True)  # base and base-2: the same run saved twice
    _variant(tiny_results, scale=0.03).save(other, "scaled")
    for folder, fragment in ((mixed, "side A mixes runs of different settings: population.scale"),
                             (dup, "side A has seed 3 twice (base and base-2)")):
        res = cli("report", str(folder), str(other), "--out", str(tmp_path / "cmp.html"))
        one_line_error(res, fragment)
        assert not (tmp_path / "cmp.html").exists()
    res = cli("report", str(other), str(mixed / "base"), "--out", str(tmp_path / "cmp.html"))
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines() == [
        "warning: A ran at population scale 0.03 and B at 0.01: their simulated totals and series do not compare as "
        "they stand (divide each by its scale); the claims table's national equivalents do"]
    page = (tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "<b>Warning:</b> A ran at population scale 0.03 and B at 0.01" in page
    assert "divide by the population scale, A&#x27;s 0.03, B&#x27;s 0.01" in page


def test_compare_warns_when_the_sides_ran_at_two_scales(tmp_path):
    """Scenario files with their own scales and no --scale: the table is printed with a one-line warning."""
    for name, scale in (("small", 0.01), ("large", 0.02)):
        (tmp_path / f"{name}.toml").write_text(f'name = "{name}"\nextends = "baseline-2012"\n'
                                               f"[population]\nscale = {scale}\n")
    res = compare(str(tmp_path / "small.toml"), str(tmp_path / "large.toml"), "--years", "0.2", "--seeds", "1",
                  "--set", "time.burn_in_weeks=4", "--quiet", "--out", str(tmp_path / "cmp"))
    assert res.returncode == 0, res.stderr
    warning = [ln for ln in res.stdout.splitlines() if ln.startswith("warning:")]
    assert warning == ["warning: A ran at population scale 0.01 and B at 0.02: their simulated totals and series do "
                       "not compare as they stand (divide each by its scale); the claims table's national "
                       "equivalents do"]


def test_compare_states_each_sides_length_when_they_differ(tmp_path):
    """Scenario files with their own run lengths and no --years: the header names both, not only B's."""
    for name, years in (("short", 0.2), ("long", 0.3)):
        (tmp_path / f"{name}.toml").write_text(f'name = "{name}"\nextends = "baseline-2012"\n[time]\nyears = {years}\n'
                                               "burn_in_weeks = 4\n")
    res = compare(str(tmp_path / "short.toml"), str(tmp_path / "long.toml"), "--scale", "0.01", "--seeds", "1",
                  "--quiet", "--out", str(tmp_path / "cmp"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == ("A short vs B long: seed 0 on each side, A 10 weeks at scale 0.01, B 16 "
                                          "weeks at scale 0.01")


def test_intervals_of_the_sides_stay_within_what_the_outcomes_can_take(tiny_results):
    """With few seeds a t-interval reaches below 0 persons or above a share of 1: it is cut there, and said so."""
    def run(seed: int, factor: float, share: float) -> Results:
        ts = tiny_results.timeseries.assign(value=tiny_results.timeseries["value"] * factor)
        ts.loc[ts["metric"] == "protected_share", "value"] = share
        return dataclasses.replace(tiny_results, timeseries=ts, manifest=dict(tiny_results.manifest, seed=seed))

    a = [run(1, 1.0, 1.0), run(2, 0.0, 0.2), run(3, 0.0, 0.2)]
    table = claims_table(a, [tiny_results], claim_period(date(2012, 1, 2), 26))
    assert table.loc["arrests_user", "A mean"] > 0 and table.loc["arrests_user", "A lo"] == 0
    assert table.loc["protected_share_heroin", "A hi"] == 1
    assert (table[["A lo", "B lo"]].dropna() >= 0).all().all()
    assert "cut at 0, and fractions at 1" in table.attrs["interval"]


def test_a_comparison_carries_the_price_warnings_of_its_runs(tiny_results, tmp_path):
    """A price `run` would flag (beyond six times Table 5.6's 2012 level) is flagged by the comparison too, on the
    side and seeds that have it, at the highest of them: in the claims table's warnings and on the page."""
    from northroute.results import run_warnings

    ts = tiny_results.timeseries
    at = (ts["metric"] == "price") & (ts["place"] == "KZ") & (ts["substance"] == "heroin") & (ts["level"] == "retail")

    def pushed(seed: int, price: float) -> Results:
        return dataclasses.replace(_variant(tiny_results, seed=seed), timeseries=ts.assign(
            value=ts["value"].where(~at, price)))

    a = [_variant(tiny_results, seed=s) for s in (0, 1, 2)]
    b = [pushed(0, 60_000.0), _variant(tiny_results, seed=1), pushed(2, 90_000.0)]
    assert not run_warnings(ts) and run_warnings(b[2].timeseries)
    table = claims_table(a, b, claim_period(date(2012, 1, 2), 26))
    assert table.attrs["warnings"] == [f"B (2 of 3 seeds; the highest, seed 2): {run_warnings(b[2].timeseries)[0]}"]
    assert "90,000 KZT/g nationally in 2012, 12 times" in table.attrs["warnings"][0]
    page = write_comparison(a, b, tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "B (2 of 3 seeds; the highest, seed 2): the retail heroin price reaches 90,000 KZT/g" in page


def test_a_comparison_of_one_scenario_with_itself_is_named() -> None:
    """`compare X X --set KEY@DATE=v` lays the step on both sides: the comparison is of identical runs, and says so."""
    from northroute.cli import same_sides

    sets = ["justice.possession_threshold_factor@2016-01-04=100"]
    a, b = load_scenario("anticorruption-2015", sets), load_scenario("anticorruption-2015", sets)
    assert len(same_sides(a, b)) == 1 and "the same scenario" in same_sides(a, b)[0]
    assert same_sides(load_scenario("anticorruption-2015"), b) == []


def test_people_and_prisoners_by_role_are_compared(tiny_results) -> None:
    """The rows a legal change is read by: users and retail dealers in prison, people using heroin and active retail
    dealers, each the mean over the period's weeks of the national sum, in national equivalents."""
    from northroute.report.compare import claim_outcomes

    period = claim_period(date(2012, 1, 2), int(tiny_results.timeseries["week"].max()) + 1)
    values = claim_outcomes(tiny_results, period)
    ts = tiny_results.timeseries
    ts = ts[(ts["world"] == "true") & (ts["week"] >= period.first_week)]
    scale = tiny_results.manifest["scenario"]["population"]["scale"]

    def mean(metric: str, level: str, substance: str | None = None) -> float:
        rows = ts[(ts["metric"] == metric) & (ts["level"] == level)]
        rows = rows if substance is None else rows[rows["substance"] == substance]
        return rows.groupby("week")["value"].sum().mean() / scale

    for key, args in (("prisoners_user", ("inmates", "user")), ("prisoners_retail", ("inmates", "retail")),
                      ("heroin_users", ("users", "user", "heroin")), ("retail_dealers", ("dealers", "retail"))):
        assert values[key] == pytest.approx(mean(*args)) and values[key] > 0, key
    # arrests of users by drug, a year: what a change of the thresholds moves (7.9 rule 1)
    years = period.weeks / 52.1775
    arrests = ts[(ts["metric"] == "arrests") & (ts["level"] == "user") & (ts["place"] == "KZ")]
    for key, drugs in (("arrests_user_heroin", ["heroin"]), ("arrests_user_cannabis", ["marijuana", "hashish"])):
        expected = arrests[arrests["substance"].isin(drugs)]["value"].sum() / scale / years
        assert values[key] == pytest.approx(expected) and values[key] > 0, key


def test_people_let_go_holding_no_crime_are_compared() -> None:
    """With possession thresholds a hundred times Table 7.1 the police still pick a few people who hold no crime
    (7.9 rule 1); the claims table counts them a year, users and retail dealers together, in national equivalents."""
    from northroute.report.compare import claim_outcomes

    res = nr.run(tiny("justice.possession_threshold_factor=100", "time.years=1"), seed=1)
    period = claim_period(date(2012, 1, 2), int(res.timeseries["week"].max()) + 1)
    ts = res.timeseries
    released = ts[(ts["metric"] == "released_no_case") & (ts["world"] == "true") & (ts["week"] >= period.first_week)]
    assert set(released["level"]) == {"user", "retail"}
    per_year = released["value"].sum() / res.manifest["scenario"]["population"]["scale"] / (period.weeks / 52.1775)
    values = claim_outcomes(res, period)
    assert values["released_no_case"] > 0 and values["released_no_case"] == pytest.approx(per_year)
    # the police turn from cannabis users, whose unit is no crime to hold, to heroin users (7.9 rule 1)
    assert values["arrests_user_cannabis"] < 0.05 * values["arrests_user_heroin"]
