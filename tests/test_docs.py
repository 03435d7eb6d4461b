"""Docs stay true to the code: the ODD as built, and the facts search as the scorecard counts."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_odd_is_up_to_date():
    res = subprocess.run([sys.executable, str(ROOT / "docs" / "build_odd.py"), "--check"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_spec_code_cited_is_in_the_index():
    """A reader of a clone, without the spec beside it, can look up every M, SF and S code that the code and
    the docs cite (a letter after a code is this project's subdivision of it)."""
    index = set(re.findall(r"^\| ((?:M|SF|S)\d+) \|", (ROOT / "docs" / "spec-codes.md").read_text(), re.M))
    assert len(index) > 120
    cited: dict[str, str] = {}
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "src").rglob("*.toml"), *(ROOT / "docs").glob("*.md"),
             ROOT / "README.md"]
    for path in files:
        for code in re.findall(r"\b((?:M|SF|S)\d{1,2})[a-z]?\b", path.read_text(encoding="utf-8")):
            cited.setdefault(code, path.name)
    assert len(cited) > 80
    assert {code: where for code, where in cited.items() if code not in index} == {}


@pytest.mark.skipif(not (ROOT.parent / "shared" / "spec" / "thesis-mechanisms.md").is_file(),
                    reason="the spec is kept beside the repository, and this clone has none beside it")
def test_spec_index_is_up_to_date():
    res = subprocess.run([sys.executable, str(ROOT / "docs" / "build_spec_index.py"), "--check"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_odd_names_every_process_in_the_schedule():
    from northroute.sim import SCHEDULE

    odd = (ROOT / "docs" / "ODD.md").read_text()
    for name, _ in SCHEDULE:
        assert re.search(rf"^### 7\.\d+ {name}$", odd, re.M), name


def _facts_search():
    import importlib.util

    spec = importlib.util.spec_from_file_location("facts_search", ROOT / "docs" / "facts_search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_facts_search_samples_inside_the_ranges_and_counts_as_the_scorecard() -> None:
    """docs/facts_search.py: a fixed Latin hypercube inside the screening ranges, integer parameters
    rounded; a fact passes when all its tests pass, and by-construction passes are not counted as real."""
    fs = _facts_search()
    ranges = {"policing.drug_officers": (200.0, 1500.0), "relations.kin_reach": (1.0, 4.0)}
    points = fs.sample(ranges, 8, 0)
    assert points == fs.sample(ranges, 8, 0) and points != fs.sample(ranges, 8, 1)
    assert all(200 <= p["policing.drug_officers"] <= 1500 and isinstance(p["relations.kin_reach"], int)
               for p in points)
    facts = [{"id": "SF1", "status": "pass", "by_construction": False},
             {"id": "SF3", "status": "pass", "by_construction": True},
             {"id": "SF3b", "status": "miss", "by_construction": False},
             {"id": "SF13", "status": "pass", "by_construction": True},
             {"id": "SF25", "status": "pass", "by_construction": False},
             {"id": "SF25b", "status": "pass", "by_construction": False}]
    assert fs.score(facts) == {"facts": 3, "tests": 5, "facts_real": 2}


def test_facts_search_plot_marks_the_defaults_and_the_bar(tmp_path) -> None:
    fs = _facts_search()
    table = pd.DataFrame({"point": [-1, 0, 1], "facts": [19, 20, 18],
                          "SF1:status": ["pass", "pass", "miss"], "SF3:status": ["pass", "miss", "miss"],
                          "SF3b:status": ["pass", "pass", "miss"]})
    fig = fs.plot(table, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
    lines = {line.get_label(): line.get_xdata()[0] for line in fig.axes[0].get_lines()}
    assert lines == {"defaults (19)": 19, "the issue's bar (27 of 36)": 27}
    assert len(fig.axes) == 2  # no distances: no third panel


def test_facts_search_plot_sets_facts_against_the_distance_when_it_has_one(tmp_path) -> None:
    fs = _facts_search()
    table = pd.DataFrame({"point": [-1, 0, 1], "facts": [19, 20, 18], "distance": [0.2, 0.9, float("nan")],
                          "SF1:status": ["pass", "pass", "miss"]})
    fig = fs.plot(table, tmp_path / "f.png")
    search, defaults = (c.get_offsets() for c in fig.axes[2].collections)
    assert defaults.tolist() == [[19, 0.2]]
    assert search[~search.mask.any(axis=1)].tolist() == [[20, 0.9]]  # a point without a distance is not drawn


@pytest.mark.parametrize("name", ["facts_search.csv", "facts_search_arrests.csv"])
def test_shipped_facts_search_matches_the_screening_ranges_and_its_own_verdicts(name: str) -> None:
    """docs/facts_search.csv and docs/facts_search_arrests.csv: their parameters are the ranges they were searched
    in (values inside them, point -1 the defaults of then: today's but for those facts_search.DEFAULTS_THEN
    names), and each point's fact count is the count of its verdicts. The second (session 29) holds the defaults'
    quota arrests (--arrests-per-month) at the same points as the first."""
    from northroute.experiments.designs import read_params

    fs = _facts_search()
    table = pd.read_csv(ROOT / "docs" / name)
    ranges = read_params(fs.RANGES)
    if fs.QUOTA in table:
        shipped = fs.default_point([fs.OFFICERS, fs.QUOTA])
        arrests = table[fs.OFFICERS] * table[fs.QUOTA]
        assert arrests.to_numpy() == pytest.approx(shipped[fs.OFFICERS] * shipped[fs.QUOTA])
        first = pd.read_csv(ROOT / "docs" / "facts_search.csv").set_index("point")[list(ranges)]
        assert table.set_index("point")[list(ranges)].to_numpy() == pytest.approx(first.loc[table.point].to_numpy())
    search = table[table.point >= 0]
    assert all(search[n].between(lo - 0.5, hi + 0.5).all() for n, (lo, hi) in ranges.items())  # ints rounded
    then = {**fs.default_point(list(ranges)), **fs.DEFAULTS_THEN}  # the defaults the search was made at
    assert table[table.point == -1][list(ranges)].iloc[0].to_dict() == pytest.approx(then)
    status = [c for c in table.columns if c.endswith(":status")]
    for _, row in table.iterrows():
        facts = [{"id": c.split(":")[0], "status": row[c], "by_construction": False} for c in status]
        assert fs.score(facts)["facts"] == row["facts"]


def test_shipped_calibrations_load_on_the_calibrated_scenario() -> None:
    """docs/calibration/: the ranges file is valid for the scenario calibrated, and each calibration's values
    load through `--values`, lie inside those ranges and fit the parameter types (a renamed or retyped
    parameter would otherwise leave the documented commands broken)."""
    from northroute.calibration import DEFAULT_PARAMS
    from northroute.dashboard.levers import current_value
    from northroute.experiments.designs import problem, read_params
    from northroute.scenario import file_values, load_scenario

    folder = ROOT / "docs" / "calibration"
    ranges = read_params(folder / "eight-parameters.toml")
    problem(ranges, load_scenario("anticorruption-2015"))
    results = sorted(folder.glob("eight-parameters-seed*.toml"))
    assert len(results) >= 2
    screened = read_params(_facts_search().RANGES)  # the ranges of the search that found point 34
    checks = [(path, ranges) for path in results]
    checks.append((folder / "default-set-seed0.toml", DEFAULT_PARAMS))  # the default set's calibration, session 25
    checks.append((folder / "pattern-point34.toml", screened))  # point 34 with the default set fitted on it
    records = read_params(folder / "records-seven.toml")  # the fit to records-2012-2017, session 27
    problem(records, load_scenario("anticorruption-2015"))
    fits = sorted(folder.glob("records-seven-seed*.toml"))
    assert len(fits) >= 2
    checks += [(path, records) for path in fits]
    documented = read_params(folder / "records-documented.toml")  # the same with the recording of sales, session 28
    problem(documented, load_scenario("anticorruption-2015"))
    checks.append((folder / "records-documented-seed0.toml", documented))
    point34 = {v.split("=")[0] for v in file_values(folder / "pattern-point34.toml")}
    assert point34 >= set(screened)  # it sets every screened value
    # session 29: point 34 with today's recording of sales and the defaults' quota arrests, its fit CSV point 34's
    held = load_scenario("anticorruption-2015", file_values(folder / "pattern-point34-records.toml")).policing
    shipped = load_scenario().policing
    assert held.sale_documented == shipped.sale_documented
    arrests = shipped.drug_officers * shipped.quota_per_month
    assert held.drug_officers * held.quota_per_month == pytest.approx(arrests, rel=0.01)
    # session 30: the same with each value rounded (three significant figures), to see what the last digits do
    exact = dict(v.split("=") for v in file_values(folder / "pattern-point34.toml"))
    rounded = dict(v.split("=") for v in file_values(folder / "pattern-point34-rounded.toml"))
    for name in screened:
        assert float(rounded[name]) == pytest.approx(float(exact[name]), rel=0.005), name
    rounded_policing = load_scenario("anticorruption-2015",
                                     file_values(folder / "pattern-point34-rounded.toml")).policing
    assert (rounded_policing.sale_documented, rounded_policing.quota_per_month) == (0.12, held.quota_per_month)
    point34_files = [(folder / f"pattern-point34-{kind}.toml", screened) for kind in ("records", "rounded")]
    for path, bounds in checks + point34_files:
        scen = load_scenario("anticorruption-2015", file_values(path))
        for name, (lo, hi) in bounds.items():
            assert lo <= current_value(scen, name) <= hi, (path.name, name)
        parent = tomllib.loads(path.read_text())["extends"]  # a file that extends a fit sets values by hand on it
        fitted = Path(parent).stem if parent.endswith(".toml") else path.stem
        assert (path.with_name(fitted + "-fit.csv")).exists(), path.name
        if "policing.sale_documented" not in bounds and fitted == path.stem:  # every arrested dealer's sale recorded
            assert scen.policing.sale_documented == 1.0, path.name


def test_odd_scorecard_is_a_scorecard_of_the_current_facts() -> None:
    """docs/scorecard.json, which ODD 1.2's table shows, scores every fact the code defines and no other, with
    the verdict the code declares (a `known_miss` or a `reason` misses, every other fact passes) and the code's
    construction flags: a fact added, a declaration changed or a construction note added without running
    `validate` again and storing its output fails here. (tests/test_validation_national.py runs it.)"""
    import json

    from northroute.validation import FACTS

    stored = {f["id"]: f for f in json.loads((ROOT / "docs" / "scorecard.json").read_text())["facts"]}
    assert list(stored) == [f.id for f in FACTS]
    for f in FACTS:
        assert stored[f.id]["status"] == ("miss" if f.known_miss or f.reason else "pass"), f.id
        assert stored[f.id]["by_construction"] == bool(f.construction), f.id
        if stored[f.id]["values"]:
            assert stored[f.id]["n_seeds"] == 6, f.id
            low, high = f.domain  # a fact's declared domain holds every seed's value and the interval
            assert all(low <= v <= high for v in stored[f.id]["values"] + stored[f.id]["interval"]), f.id


def test_readme_metric_table_matches_the_recorder() -> None:
    """Each metric the README's table names exists at the levels, places and worlds it gives (the complete list is
    generated into the ODD)."""
    from northroute import record

    places = {"region": "region", "KZ": "national", "crossing": "crossing", "route": "route", "russia": "russia"}
    have = {(m.name, m.level, m.places, m.world) for m in record.METRICS}
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| metric | level | places | world | unit | meaning |"):]
    rows = [ln for ln in table.splitlines()[2:] if ln.startswith("| `")]
    assert len(rows) > 10
    for row in rows:
        names, levels, where, worlds = (c.strip() for c in row.split("|")[1:5])
        for name in re.findall(r"`(\w+)`", names):
            for level in levels.split(", "):
                for place in where.split(", "):
                    for world in worlds.split(", "):
                        assert (name, level, places[place], world) in have, (name, level, place, world)
