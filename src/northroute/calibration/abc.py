"""ABC-SMC calibration (pyabc) of assumption parameters to the thesis's recorded series.

Each particle is run with the base scenario (default anticorruption-2015, since the recorded series of
2012-2017 were made under the strategy) at a reduced scale with seeds drawn afresh for it, and its distance is
the mean over them. Fixed seeds for every particle (common random numbers, `fresh=False`) make differences
between particles come from the parameters only, but ABC then keeps the parameters that fit those seeds'
noise, which need not carry over to other seeds (docs/studies.md).
The distance is `targets.distance`. The result is the last generation's weighted particles with their
distances. Three point estimates compete for the calibrated scenario: the weighted posterior mean (which
averages out the seed noise each particle's distance carries, but can lie off the ridge of good fits when
parameters trade off, e.g. more heroin supply with more border searches, and after a few generations of a
small population still carries much of the prior's spread), the best particle (on the ridge, but chosen
partly for lucky seeds) and the elite mean: the centre of the particles closest to the targets among all
those tried in every generation (each of them partly lucky, but in different directions, so their centre
keeps what they share). The one closest to the targets over *selection* seeds wins, and the defaults and
the estimates are then compared over *test* seeds: neither set was used by any particle (fresh seeds are
drawn from `FRESH_SEEDS` up), and the test seeds were not used to choose.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

import northroute as nr
from northroute.calibration.targets import TARGETS, distance, statistics
from northroute.scenario import Scenario, apply_override, is_integer, load_scenario


class OutOfBudget(ValueError):
    """The particle budget ran out before a first generation: nothing to estimate, but the particles run so far
    (`tried`, as `Calibration.tried`) are worth keeping."""

    def __init__(self, message: str, tried: pd.DataFrame) -> None:
        super().__init__(message)
        self.tried = tried


# The parameters calibrated by default: assumption-only parameters with the largest Morris effect (mu*) on
# the distance to thesis-2012-2017 (output thesis_distance), in the screening of 22 shipped as
# calibration/screening.csv until session 34 (output_mean is the mean over its 552 runs), made on 2026-12-05
# (session 25), after the staging posts came to search lots and the crossings' inspection multiplier fell to 0.01,
# at the calibration's scale with
#   northroute sensitivity anticorruption-2015 --params calibration/screening_ranges.toml --n 24 --sample-seed 1
#       --scale 0.05 --years 6
# Its 24 trajectories rank detect_if_searched 0.78, heroin_kg_per_year 0.72, staging_search_rate 0.65,
# koknar_share 0.49, hashish_kg_per_year 0.44 and trafficker_markup 0.42 first (then marijuana 0.41 and
# prison_time_weight 0.37; inspection_multiplier, first in the screening of 2026-12-04 with crossings seizing
# most heroin, fell to 15th): this set, once detect_if_searched is left out. trafficking.detect_if_searched is
# left out: it multiplies the same search probability as the two search rates, so they cannot be told apart.
# The ranges are the screening's. The screening shipped since session 34 (2026-12-07) is the same design rerun on
# the model of sessions 26-33, with the study outputs of session 34 (arrests, prisoners, crimes and corruption):
# on thesis_distance it ranks staging_search_rate 0.81, detect_if_searched 0.74, heroin_kg_per_year 0.52,
# koknar_share 0.51, hashish_kg_per_year 0.47 and trafficker_markup 0.39 first, the same six, so the set stands.
DEFAULT_PARAMS: dict[str, tuple[float, float]] = {
    "supply.heroin_kg_per_year": (15_000.0, 70_000.0),
    "trafficking.staging_search_rate": (0.003, 0.05),
    "policing.koknar_share": (0.02, 0.5),
    "supply.hashish_kg_per_year": (2_000.0, 20_000.0),
    "market.trafficker_markup": (1.2, 4.0),
}


@dataclass
class Calibration:
    base: str
    targets: str
    params: dict[str, tuple[float, float]]
    scale: float
    seed: int
    population: int
    generations: int
    particle_seeds: int
    fresh: bool
    prior: str = "log-uniform"
    posterior: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per particle: "weight", "distance"
    tried: pd.DataFrame = field(default_factory=pd.DataFrame)  # every particle run: "generation", "accepted"
    epsilons: list[float] = field(default_factory=list)
    max_particles: int | None = None
    out_of_budget: bool = False  # a generation was given up: it could have passed max_particles

    @property
    def evaluations(self) -> int:
        """Particles tried, in all generations (pyabc's own count leaves out a generation given up)."""
        return len(self.tried)

    def ran(self) -> str:
        """The generations run, and why they stopped short if they did."""
        n = len(self.epsilons)
        short = f" (the budget of {self.max_particles} particles ran out)" if self.out_of_budget else ""
        return f"{n} generation{'s' if n != 1 else ''}{short}"

    def estimate(self) -> dict[str, float]:
        """Weighted posterior mean of each parameter (rounded for integer parameters, as the runs round it)."""
        w = self.posterior["weight"].to_numpy()
        return as_run({k: float(np.sum(self.posterior[k].to_numpy() * w) / w.sum()) for k in self.params})

    def best(self) -> dict[str, float]:
        """The particle of the last generation closest to the targets (on the particle seeds)."""
        row = self.posterior.loc[self.posterior["distance"].idxmin()]
        return as_run({k: float(row[k]) for k in self.params})

    def elite(self) -> dict[str, float]:
        """Centre of the `population` particles closest to the targets among all tried: the geometric mean of
        each parameter whose prior is log-uniform, the arithmetic mean of the others. The number of particles
        (one generation's worth) is an assumption."""
        runs = self.tried.nsmallest(self.population, "distance")
        return as_run({k: float(np.exp(np.log(runs[k]).mean()) if self.log_scale(k) else runs[k].mean())
                       for k in self.params})

    def log_scale(self, name: str) -> bool:
        """Whether the prior over `name` is log-uniform (see prior_of)."""
        return is_log_uniform(self.params[name][0], self.prior)

    def estimates(self) -> dict[str, dict[str, float]]:
        return {"posterior mean": self.estimate(), "best particle": self.best(), "elite mean": self.elite()}

    def held_out_seeds(self, n: int) -> tuple[list[int], list[int]]:
        """n selection seeds and n test seeds, after seed..seed+particle_seeds-1 (the particles' seeds unless
        they were fresh, which are drawn from FRESH_SEEDS up)."""
        first = self.seed + self.particle_seeds
        return list(range(first, first + n)), list(range(first + n, first + 2 * n))

    def interval(self, name: str, level: float = 0.9) -> tuple[float, float]:
        order = np.argsort(self.posterior[name].to_numpy())
        v, w = self.posterior[name].to_numpy()[order], self.posterior["weight"].to_numpy()[order]
        cdf = np.cumsum(w) / w.sum()
        return float(np.interp((1 - level) / 2, cdf, v)), float(np.interp((1 + level) / 2, cdf, v))


def as_run(values: dict[str, float]) -> dict[str, float]:
    """Parameter values as a run uses them: integer parameters rounded."""
    return {k: round(v) if is_integer(k) else v for k, v in values.items()}


def scenario_with(base: Scenario, values: dict[str, float]) -> Scenario:
    scen = base.model_copy(deep=True)
    for key, value in as_run(values).items():
        apply_override(scen, key, value)
    return scen


def evaluate(base: Scenario, values: dict[str, float], seed: int, target: str) -> tuple[float, dict[str, float]]:
    """Distance and statistics of one run of `base` with `values` set."""
    res = nr.run(scenario_with(base, values), seed=seed)
    stats = statistics(res.timeseries, base.population.scale)
    return distance(stats, TARGETS[target]()), stats


FRESH_SEEDS = 2**20  # fresh particle seeds are drawn from here up, clear of the held-out seeds


class _Model:
    """The pyabc model: parameters -> {"distance": mean over the particle seeds} (picklable for the sampler)."""

    def __init__(self, base: Scenario, seeds: list[int], target: str, fresh: bool) -> None:
        self.base, self.seeds, self.target, self.fresh = base, seeds, target, fresh

    def __call__(self, pars) -> dict[str, float]:
        seeds = self.seeds
        if self.fresh:  # from numpy's global generator, which the sampler seeds for each particle
            seeds = np.random.randint(FRESH_SEEDS, 2**31 - 1, len(seeds)).tolist()  # noqa: NPY002
        return {"distance": float(np.mean([evaluate(self.base, dict(pars), s, self.target)[0] for s in seeds]))}


PRIORS = ("log-uniform", "uniform")


def prior_of(lo: float, hi: float, kind: str = "log-uniform"):
    """Log-uniform over a positive range (uniform over one that starts at 0), or uniform. The ranges span
    factors (a third to five times the default), and a uniform prior over such a range puts most of its mass
    at the top: over 0.03-0.5 (the inspection multiplier's range until session 25, around a default of 0.1) its
    median is 0.27 (log-uniform: 0.12)."""
    import pyabc

    if kind not in PRIORS:
        raise ValueError(f"unknown prior '{kind}' (known: {', '.join(PRIORS)})")
    return pyabc.RV("loguniform", lo, hi) if is_log_uniform(lo, kind) else pyabc.RV("uniform", lo, hi - lo)


def is_log_uniform(lo: float, kind: str) -> bool:
    """A log-uniform prior needs a range above 0; over one that starts at 0 it falls back to uniform."""
    return kind == "log-uniform" and lo > 0


def _distance(x: dict, x0: dict) -> float:
    return float(x["distance"])


def calibrate(base: str, target: str, params: dict[str, tuple[float, float]], scale: float, years: float,
              population: int, generations: int, workers: int, seed: int = 0, particle_seeds: int = 1,
              on_generation: Callable[[int, float, int], None] | None = None, fresh: bool = True,
              prior: str = "log-uniform", max_particles: int | None = None) -> Calibration:
    """Run ABC-SMC; each particle's distance is the mean over `particle_seeds` runs, with seeds drawn afresh
    for each particle from the seeded sampler (`fresh`) or seeds seed..seed+particle_seeds-1 for all;
    `on_generation(t, epsilon, evaluations)` is called after each generation. At most `max_particles` particles
    are tried in all, the sample from the prior that sets the first epsilon included: the generation that
    could pass it is given up, and the calibration keeps the ones before it (`out_of_budget`).

    Fresh seeds are the default: with the same seeds for every particle, ABC keeps the parameters that fit
    those runs' noise (docs/studies.md: with seed 1 the calibrated values were no better than the defaults
    on held-out seeds; with fresh seeds they were, for seeds 0 and 1)."""
    import pyabc

    from northroute.calibration.sampler import SeededMappingSampler

    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("pyabc").setLevel(logging.WARNING)
    scen = load_scenario(base, [f"population.scale={scale}", f"time.years={years}"])
    dist = pyabc.Distribution(**{k: prior_of(lo, hi, prior) for k, (lo, hi) in params.items()})
    np.random.seed(seed)  # noqa: NPY002  pyabc draws its proposals from numpy's global generator
    model = _Model(scen, list(range(seed, seed + particle_seeds)), target, fresh)
    out = Calibration(base, target, params, scale, seed, population, generations, particle_seeds, fresh, prior,
                      max_particles=max_particles)
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        sampler = SeededMappingSampler(map_=pool.map if pool is not None else map, max_tried=max_particles)
        abc = pyabc.ABCSMC(model, dist, _distance, population_size=population, sampler=sampler)
        db = f"sqlite:///{Path(tmp) / 'abc.db'}"
        abc.new(db, {"distance": 0.0})
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(db, done, on_generation), daemon=True)
        watcher.start()
        try:
            history = abc.run(max_nr_populations=generations)  # one call: repeated calls re-initialise epsilon
        finally:
            done.set()
            watcher.join()
        pops = history.get_all_populations()
        if history.max_t < 0:
            raise OutOfBudget(f"calibrate: {max_particles} particles ran out before the first generation was "
                              f"complete; allow more (--max-particles)", pd.DataFrame(sampler.tried))
        out.epsilons = [float(e) for e in pops["epsilon"].iloc[1:]]
        out.out_of_budget = sampler.out_of_budget
        particles = history.get_population().particles
    out.posterior = pd.DataFrame([{**{k: float(pt.parameter[k]) for k in params}, "weight": float(pt.weight),
                                   "distance": float(pt.distance)} for pt in particles])
    out.tried = pd.DataFrame(sampler.tried)
    return out


def _watch(db: str, done: threading.Event, on_generation: Callable[[int, float, int], None] | None) -> None:
    """Report each finished generation by reading the run's database (pyabc writes it after each one)."""
    import pyabc

    if on_generation is None:
        return
    seen = 0
    while True:
        finished = done.wait(2.0)
        try:
            pops = pyabc.History(db).get_all_populations()
        except Exception:  # noqa: BLE001 - the database may be mid-write; look again
            pops = None
        if pops is not None:
            tried = pops["samples"].cumsum()  # from the prior's sample (t = -1), as the particle budget counts
            pops = pops.assign(tried=tried)[pops["t"] >= 0]
            while seen < len(pops):
                on_generation(seen, float(pops["epsilon"].iloc[seen]), int(pops["tried"].iloc[seen]))
                seen += 1
        if finished:
            return


def fit(base: str, target: str, values: dict[str, float], scale: float, years: float,
        seeds: list[int], map_: Callable = map) -> tuple[list[float], dict[str, float]]:
    """Distances over `seeds` and the statistics (mean over seeds) of `base` with `values`; `map_` may be a
    process pool's (a seed's run is the same wherever it runs)."""
    scen = load_scenario(base, [f"population.scale={scale}", f"time.years={years}"])
    runs = list(map_(functools.partial(evaluate, scen, values, target=target), seeds))
    return [d for d, _ in runs], pd.DataFrame([st for _, st in runs]).mean().to_dict()


FEW_PARTICLES = 10  # assumption: below it a posterior and its 90% interval rest on a handful of values


def caveats(cal: Calibration) -> list[str]:
    """What a reader of a calibration's values must know before using them: the scale they were fitted at, and a
    posterior of very few particles."""
    out = []
    if cal.scale < 1:
        out.append(f"Fitted at scale {cal.scale}: prices and seizures depend on the scale, so these values fit runs "
                   "at that scale; check them at the scale you run (calibrate --check-scale, docs/studies.md).")
    if cal.population < FEW_PARTICLES:
        out.append(f"The posterior holds {cal.population} particles: its mean and 90% intervals rest on so few "
                   f"values that they are a first look, not an estimate (--population {FEW_PARTICLES} or more).")
    return out


def scenario_toml(cal: Calibration, values: dict[str, float], name: str, how: str) -> str:
    """A scenario file extending the base with the calibrated values, each with its provenance."""
    today = date.today().isoformat()
    seeds = f"{cal.particle_seeds} {'fresh ' if cal.fresh else ''}seeds"
    lines = [f"# Calibrated to {cal.targets} with ABC-SMC (pyabc): {cal.population} particles x "
             f"{cal.ran()}, scale {cal.scale}, seed {cal.seed}, {cal.evaluations} particles tried "
             f"x {seeds}, {today}.",
             f"# Values: {how}; each line gives the 90% posterior interval and the range of the {cal.prior} prior.",
             *(f"# {caveat}" for caveat in caveats(cal)),
             f'name = "{name}"',
             f'description = "{cal.base} with {", ".join(values)} calibrated to {cal.targets}"',
             f'extends = "{cal.base}"', ""]
    by_section: dict[str, list[str]] = {}
    for key, value in as_run(values).items():  # in full (repr): the file's runs are the runs calibrate fitted
        section, param = key.split(".")
        lo, hi = cal.interval(key)
        plo, phi = cal.params[key]
        by_section.setdefault(section, []).append(
            f"{param} = {value!r}  # calibrated to {cal.targets}: 90% interval [{lo:.4g}, {hi:.4g}], "
            f"prior [{plo:g}, {phi:g}]")
    for section, entries in by_section.items():
        lines += [f"[{section}]", *entries, ""]
    return "\n".join(lines)
