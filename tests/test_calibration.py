"""Calibration: the targets are read from the thesis's tables, the distance is zero at the targets and grows
with the miss, and `northroute calibrate` writes a posterior, a fit and a scenario file that loads."""

from __future__ import annotations

import json
import re
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pyabc
import pytest
from typer.testing import CliRunner

import northroute as nr
from northroute.calibration import DEFAULT_PARAMS, calibrate, fit
from northroute.calibration.abc import as_run
from northroute.calibration.sampler import SeededMappingSampler
from northroute.calibration.targets import TREND, YEARS, distance, records_2012_2017, statistics, thesis_2012_2017
from northroute.cli import app
from northroute.validation.facts import SCORED_YEARS
from tests.helpers import cli, one_line_error


def test_targets_come_from_tables_5_5_and_5_6() -> None:
    t = {x.name: x.value for x in thesis_2012_2017()}
    assert t["seized_heroin_2012"] == 306.7 and t["seized_heroin_2017"] == 146.9
    assert t["price_heroin_retail_2012"] == 7375 and t["price_marijuana_wholesale_2012"] == 107.9375
    assert abs(t["heroin_retail_price_2016_over_2012"] - TREND) < 1e-12 and 3.2 < TREND < 3.4
    assert len(t) == 18 + 6 + 1
    # calibrate refuses runs that miss one of these years with the facts' rule (validation.facts.coverage_gap)
    assert tuple(range(SCORED_YEARS[0], SCORED_YEARS[1] + 1)) == YEARS


def test_records_add_the_enforcement_on_record_as_a_fifth_group() -> None:
    records = records_2012_2017()
    assert records[:25] == thesis_2012_2017()
    crimes = {x.name: x.value for x in records[25:]}
    assert crimes == {"registered_crimes_2015": 9250, "registered_crimes_2016": 8490, "registered_crimes_2017": 7972,
                      "sale_crimes_2017": 2266, "dealers_prosecuted_2017": 733}  # EHRA; thesis L1908
    assert {x.group for x in records[25:]} == {"enforcement volume"}
    assert all("harmreductioneurasia" in x.source for x in records[25:28])
    assert all("L1908" in x.source for x in records[28:])
    # a fifth group weighs a fifth: missing only the crimes by a factor of two costs a fifth of that group's miss
    exact = {x.name: x.value for x in records}
    doubled = {**exact, **{k: 2 * v for k, v in crimes.items()}}
    alone = distance({k: 2 * v for k, v in crimes.items()}, records[25:])
    assert abs(distance(doubled, records) - alone / 5) < 1e-12


def test_distance_is_zero_at_the_targets_and_grows_with_the_miss() -> None:
    targets = thesis_2012_2017()
    exact = {x.name: x.value for x in targets}
    assert distance(exact, targets) < 1e-12
    double = {k: 2 * v for k, v in exact.items()}
    half = {k: 0.5 * v for k, v in exact.items()}
    assert 0 < distance(double, targets) < distance({k: 4 * v for k, v in exact.items()}, targets)
    assert np.isfinite(distance({}, targets)) and distance({}, targets) > distance(half, targets)


def test_model_statistics_cover_every_target() -> None:
    res = nr.run(nr.load_scenario("anticorruption-2015", ["population.scale=0.01", "time.years=6"]), seed=1)
    stats = statistics(res.timeseries, 0.01)
    assert all(np.isfinite(stats[x.name]) for x in thesis_2012_2017() if "price" in x.name)
    assert all(np.isfinite(stats[x.name]) for x in records_2012_2017())
    assert stats["seized_marijuana_2015"] > 0
    ts = res.timeseries  # the crimes registered in the regions, summed apart from the national rows
    regional = ts[(ts["metric"] == "registered_crimes") & (ts["place"] != "KZ")]
    in_2016 = regional[pd.to_datetime(regional["date"]).dt.year == 2016]["value"].sum()
    assert in_2016 > 0 and abs(stats["registered_crimes_2016"] - in_2016 / 0.01) < 1e-6
    # at most as many people charged with sale as sale crimes, and those at most all the crimes registered
    assert 0 < stats["dealers_prosecuted_2017"] <= stats["sale_crimes_2017"] <= stats["registered_crimes_2017"]


def test_fit_to_the_records_counts_the_registered_crimes_too() -> None:
    """The same run against both sets: the records' distance is the thesis's four groups and the crimes' one."""
    (d_records,), stats = fit("anticorruption-2015", "records-2012-2017", {}, 0.01, 6.0, [2])
    (d_thesis,), same = fit("anticorruption-2015", "thesis-2012-2017", {}, 0.01, 6.0, [2])
    assert stats == same and all(stats[f"registered_crimes_{y}"] > 0 for y in range(2015, 2018))
    crimes = distance(stats, records_2012_2017()[25:])
    assert d_records == pytest.approx((4 * d_thesis + crimes) / 5, rel=1e-12) and crimes > 0


@pytest.mark.slow  # about two minutes: the default run had grown past ten
def test_calibrate_writes_posterior_fit_and_a_loadable_scenario(tmp_path) -> None:
    folder = tmp_path / "cal"
    res = CliRunner().invoke(app, ["calibrate", "--scale", "0.01", "--population", "4", "--generations", "2",
                                   "--fit-seeds", "1", "--particle-seeds", "1", "--workers", "1", "--json", "--quiet",
                                   "--check-scale", "0.02", "--out", str(folder)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(summary["estimate"]) == set(summary["interval"]) and len(summary["epsilons"]) == 2
    assert summary["prior"] == "log-uniform"
    assert summary["max_particles"] == 180 and summary["out_of_budget"] is False
    assert summary["epsilons"][1] <= summary["epsilons"][0]
    for name in ("posterior.csv", "fit.csv", "calibration.html", "calibrated.toml"):
        assert (folder / name).exists(), name
    scen = nr.load_scenario(folder / "calibrated.toml")
    for key, value in as_run(summary["estimate"]).items():  # written in full, so the file reruns calibrate's runs
        section, param = key.split(".")
        assert getattr(getattr(scen, section), param) == value, key
    lines = (folder / "calibrated.toml").read_text().splitlines()
    for key in summary["estimate"]:
        line = next(x for x in lines if x.startswith(key.split(".")[1] + " = "))
        assert "# calibrated to thesis-2012-2017: 90% interval [" in line, line
    posterior = pd.read_csv(folder / "posterior.csv")
    best = posterior.loc[posterior["distance"].idxmin()]
    assert all(abs(best[k] - v) <= 1e-9 * abs(v) for k, v in summary["best_particle"].items())
    # the elite mean: geometric mean (log-uniform prior) of the 4 (--population) closest of all particles tried
    tried = pd.read_csv(folder / "particles.csv")
    assert tried["accepted"].sum() >= 4 * 2 and len(tried) >= summary["runs"] - 4
    assert np.isfinite(tried["distance"]).all()  # the prior sample of generation -1 too (pyabc leaves it at inf)
    last = tried[(tried["generation"] == tried["generation"].max()) & tried["accepted"]]
    assert sorted(last["distance"]) == sorted(posterior["distance"])
    elite = tried.nsmallest(4, "distance")
    for key, value in summary["elite_mean"].items():
        assert value == pytest.approx(as_run({key: float(np.exp(np.log(elite[key]).mean()))})[key], rel=1e-9), key
    assert summary["estimate"] == summary[summary["chosen"].replace(" ", "_")]
    sel = summary["distance_selection"]
    assert set(sel) == {"posterior mean", "best particle", "elite mean"}
    assert sum(sel[summary["chosen"]]) == min(sum(v) for v in sel.values())
    assert summary["beat_defaults_on_selection"] == (sum(sel[summary["chosen"]])
                                                     < sum(summary["distance_selection_defaults"]))
    assert summary["distance_calibrated"] == summary["distance_" + summary["chosen"].replace(" ", "_")]
    assert (summary["selection_seeds"], summary["test_seeds"]) == ([1], [2])  # the particles ran with seed 0 only
    assert {"defaults", "posterior mean", "best particle", "elite mean"} <= set(pd.read_csv(folder / "fit.csv").columns)
    assert "<th>elite mean</th>" in (folder / "calibration.html").read_text()
    # --check-scale fits both sets again over the test seeds at that scale, and the scenario file warns of the scale
    check = summary["distance_check"]
    assert summary["check_scale"] == 0.02 and set(check) == {"defaults", "calibrated"}
    assert check["defaults"] == fit("anticorruption-2015", "thesis-2012-2017", {}, 0.02, 6.0, [2])[0]
    assert check["defaults"] != summary["distance_defaults"]
    from_file = {k: getattr(getattr(scen, k.split(".")[0]), k.split(".")[1]) for k in summary["estimate"]}
    assert check["calibrated"] == fit("anticorruption-2015", "thesis-2012-2017", from_file, 0.02, 6.0, [2])[0]
    assert any(x.startswith("# Fitted at scale 0.01: prices and seizures depend on the scale") for x in lines)
    assert any(x.startswith("# The posterior holds 4 particles: its mean and 90% intervals rest on") for x in lines)
    page = (folder / "calibration.html").read_text()  # the same caveats on the page
    assert "<b>Warning:</b> Fitted at scale 0.01" in page and "<b>Warning:</b> The posterior holds 4 particles" in page
    assert any(x.endswith("the range of the log-uniform prior.") for x in lines)
    assert "calibrated at scale 0.02" in (folder / "calibration.html").read_text()


def test_calibrate_rejects_bad_input_in_one_line(tmp_path) -> None:
    res = cli("calibrate", "--targets", "nope", "--out", str(tmp_path / "x"))
    one_line_error(res, "nope")
    assert not (tmp_path / "x").exists()
    res = cli("calibrate", "--seed", "-1", "--out", str(tmp_path / "x"))
    one_line_error(res, "--seed must be between 0 and 4294967295, got -1")
    assert not (tmp_path / "x").exists()
    res = cli("calibrate", "--check-scale", "5", "--out", str(tmp_path / "x"))
    one_line_error(res, "--check-scale: population.scale")
    assert not (tmp_path / "x").exists()
    res = cli("calibrate", "--workers", "0", "--out", str(tmp_path / "x"))
    one_line_error(res, "--workers must be 1 or more, got 0")
    assert not (tmp_path / "x").exists()
    res = cli("calibrate", "--population", "10", "--max-particles", "19", "--out", str(tmp_path / "x"))
    one_line_error(res, "--max-particles must be at least twice --population (20), got 19")
    assert not (tmp_path / "x").exists()
    res = cli("calibrate", "--prior", "normal", "--out", str(tmp_path / "x"))
    one_line_error(res, "--prior must be one of log-uniform, uniform, got 'normal'")
    assert not (tmp_path / "x").exists()
    (tmp_path / "p.toml").write_text('"justice.threshold_factor@2016-01-04" = [1, 10]\n')
    res = cli("calibrate", "--params", str(tmp_path / "p.toml"), "--out", str(tmp_path / "x"))
    one_line_error(res, "--params: calibrate fits start values, not timeline steps "
                        "(justice.threshold_factor@2016-01-04)")
    assert not (tmp_path / "x").exists()


def test_log_uniform_prior_centres_a_range_of_factors_and_keeps_a_range_from_zero_uniform() -> None:
    """Over 0.03-0.5 (a third to five times a default of 0.1, as the screening's ranges span) the log-uniform
    median is the geometric mean (0.12, near that default); the uniform one is the midpoint (0.27). A range from
    0 cannot be log-uniform."""
    from northroute.calibration.abc import prior_of

    rng = np.random.default_rng(0)
    log, flat = prior_of(0.03, 0.5), prior_of(0.03, 0.5, "uniform")
    assert np.median(log.rvs(random_state=rng, size=20_000)) == pytest.approx(np.sqrt(0.03 * 0.5), rel=0.03)
    assert np.median(flat.rvs(random_state=rng, size=20_000)) == pytest.approx(0.265, rel=0.03)
    assert prior_of(0.0, 2.0).pdf(1.0) == pytest.approx(0.5) and prior_of(0.0, 2.0).pdf(0.01) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown prior"):
        prior_of(1.0, 2.0, "normal")


@pytest.mark.slow  # 140 s; the held-out fits' pool test below checks the same for single runs in the default run
def test_calibration_is_the_same_with_one_or_two_workers() -> None:
    """pyabc's own parallel samplers keep whichever particles finish first; ours depends on the seed only."""
    one, two = calibrate(*SMALL, 1, 0, 1), calibrate(*SMALL, 2, 0, 1)
    assert one.epsilons == two.epsilons and one.evaluations == two.evaluations == len(one.tried)
    pd.testing.assert_frame_equal(one.posterior, two.posterior)
    pd.testing.assert_frame_equal(one.tried, two.tried)


SMALL = ("anticorruption-2015", "thesis-2012-2017", dict(DEFAULT_PARAMS), 0.005, 6, 3, 2)  # 3 particles x 2 gens


@pytest.mark.slow
def test_a_particle_budget_gives_up_the_generation_that_could_pass_it(tmp_path) -> None:
    """The generations before it stay as they were, no more particles are tried than the budget allows, and
    `calibrate` says why it stopped; a budget too small for the first generation ends in one line that names the
    particles it kept (exit 1)."""
    full = calibrate(*SMALL, 2, 0, 1)
    assert not full.out_of_budget and full.ran() == "2 generations"
    first = full.tried[full.tried["generation"] <= 0]
    budget = len(first) + 2  # generation 1 needs 3 particles accepted, and a round of it takes 3 tries
    args = ["calibrate", "--scale", "0.005", "--population", "3", "--generations", "2", "--particle-seeds", "1",
            "--fit-seeds", "1", "--workers", "2", "--json"]  # SMALL, seed 0
    res = cli(*args, "--max-particles", str(budget), "--out", str(tmp_path / "cut"))  # stderr is a pipe, not a tty
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["out_of_budget"] and summary["epsilons"] == full.epsilons[:1] and summary["runs"] <= budget
    assert f"stopped after 1 generation of 2: the next could have passed --max-particles {budget}" in res.stderr
    # without a terminal the bar is not drawn: a line per generation done, and one before the held-out fits
    generation = re.search(r"^generation 1 of 2: epsilon ([\d.]+), (\d+) particles tried \(\d+:\d\d elapsed\)$",
                           res.stderr, re.M)
    assert generation and float(generation[1]) == pytest.approx(full.epsilons[0], abs=5e-4), res.stderr
    assert int(generation[2]) == len(first) and "generation 2 of 2" not in res.stderr
    assert re.search(r"^fitting the estimates and the defaults over held-out seeds 1-2 \(", res.stderr, re.M)
    cut = tmp_path / "cut"
    pd.testing.assert_frame_equal(pd.read_csv(cut / "particles.csv"), first)
    last = first[(first["generation"] == 0) & first["accepted"]]
    assert sorted(pd.read_csv(cut / "posterior.csv")["distance"]) == pytest.approx(sorted(last["distance"]))
    assert f"x 1 generation (the budget of {budget} particles ran out)," in (cut / "calibrated.toml").read_text()
    assert len(first) - 1 >= 2 * 3  # above the floor --max-particles refuses outright
    short = tmp_path / "short" / "er"
    res = cli(*args, "--quiet", "--max-particles", str(len(first) - 1), "--out", str(short))
    assert res.returncode == 1 and "Traceback" not in res.stderr  # it ran: not bad input (2)
    assert res.stderr.strip().splitlines() == [
        "error: calibrate: {} particles ran out before the first generation was complete; allow more "
        "(--max-particles); the {} particles tried are in {} (run again with another --out, or remove it)".format(
            len(first) - 1, len(first) - 1, short / "particles.csv")]
    kept = pd.read_csv(short / "particles.csv")  # which ones depends on the two workers' order, not how many
    assert list(kept.columns) == list(first.columns) and len(kept) == len(first) - 1
    assert set(kept["generation"]) <= {-1, 0} and np.isfinite(kept["distance"]).all()
    assert sorted(p.name for p in short.iterdir()) == ["particles.csv"]  # what ran is kept, nothing else written


def _propose_from_a_rounded_covariance():
    """A particle whose proposal meets a covariance that is not positive-semidefinite by a hair, then warns of
    something else."""
    np.random.multivariate_normal([0.0, 0.0], [[1.0, 1.0001], [1.0001, 1.0]])  # noqa: NPY002
    warnings.warn("another warning", RuntimeWarning, stacklevel=1)
    return pyabc.Particle(m=0, parameter=pyabc.Parameter(), weight=1.0, sum_stat={}, distance=0.0)


def test_sampler_silences_only_numpys_covariance_warning() -> None:
    sampler = SeededMappingSampler()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _, row, _ = sampler.try_one(sampler.pickle(_propose_from_a_rounded_covariance), 1)
    assert row["accepted"] and [str(w.message) for w in seen] == ["another warning"]


def test_held_out_fits_are_the_same_in_a_process_pool() -> None:
    args = ("anticorruption-2015", "thesis-2012-2017", {"market.trafficker_markup": 1.5}, 0.005, 6, [3, 4])
    with ProcessPoolExecutor(2) as pool:
        assert fit(*args, pool.map) == fit(*args)


def test_fresh_seeds_differ_between_particles_and_same_seeds_do_not() -> None:
    from northroute.calibration.abc import _Model

    scen = nr.load_scenario("anticorruption-2015", ["population.scale=0.005", "time.years=6"])
    pars = {"market.trafficker_markup": 1.8}
    for fresh in (True, False):
        model = _Model(scen, [0], "thesis-2012-2017", fresh)
        runs = []
        for particle_seed in (1, 2):
            np.random.seed(particle_seed)  # noqa: NPY002  as the sampler does for each particle
            runs.append(model(pars)["distance"])
        assert (runs[0] != runs[1]) == fresh


def test_elite_mean_is_geometric_over_a_log_uniform_range_and_arithmetic_over_a_uniform_one() -> None:
    from northroute.calibration.abc import Calibration

    params = {"market.trafficker_markup": (1.0, 4.0), "policing.koknar_share": (0.0, 0.5)}
    tried = pd.DataFrame({"market.trafficker_markup": [1.0, 4.0, 3.9, 2.0],
                          "policing.koknar_share": [0.1, 0.3, 0.5, 0.2],
                          "distance": [0.2, 0.1, 0.9, np.inf], "generation": [0, 1, 1, -1]})
    for prior, markup in (("log-uniform", 2.0), ("uniform", 2.5)):
        cal = Calibration("anticorruption-2015", "thesis-2012-2017", params, 0.05, 0, 2, 2, 1, True, prior, tried=tried)
        elite = cal.elite()  # the two closest: rows 0 and 1
        assert elite["market.trafficker_markup"] == pytest.approx(markup)
        assert elite["policing.koknar_share"] == pytest.approx(0.2)  # a range from 0 is uniform: arithmetic
