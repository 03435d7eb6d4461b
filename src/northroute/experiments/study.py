"""A study from start to finish, for the command line and for Python alike.

    from northroute.experiments import plan_sweep, run_study
    plan = plan_sweep("baseline-2012", ["market.adulteration=0:0.4:0.1"], seeds=10, overrides=["population.scale=0.05"])
    study, session = run_study(plan, "studies/adulteration", workers=2)
    study.outputs()            # one row per run: run_id, point, seed and every output
    study.connect().sql("SELECT * FROM design JOIN outputs USING (point)").df()

Everything that can be wrong with the input is found before anything is written: the scenario and every
design value are checked by the scenario schema, an existing study folder must hold the same study, and a
Dask scheduler must answer. Then the folder is locked, created (or grown by more seeds), and the runs
without a complete folder are run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from northroute.experiments import designs
from northroute.experiments.designs import Design
from northroute.experiments.runner import Executor, Outcome, RunFn, execute, make_executor, run_one
from northroute.experiments.store import Study, StudyError, locked
from northroute.scenario import Scenario, ScenarioError, load_scenario, set_keys

if TYPE_CHECKING:
    import pandas as pd

MAX_RUNS = 10_000_000


@dataclass
class Plan:
    """What to run: a base scenario, a design over it and the number of seeds (0..seeds-1 at every point)."""

    kind: str  # sweep | sensitivity
    scenario: Scenario
    design: Design
    seeds: int
    command: str = ""
    from_year: int | None = None  # outputs read from 1 January of this year (None: the whole run)

    @property
    def runs(self) -> int:
        return len(self.design.points) * self.seeds


def _base(scenario: str | Path | Scenario, overrides: list[str] | tuple[str, ...]) -> Scenario:
    """A scenario by name or file with `section.field=value` overrides; a Scenario object is taken as it is."""
    if isinstance(scenario, Scenario):
        if overrides:
            raise ScenarioError("overrides apply to a scenario name or file; set them on the Scenario object")
        return scenario.model_copy(deep=True)
    return load_scenario(scenario, list(overrides))


def _check_plan(seeds: int, design: Design, overrides: list[str] | tuple[str, ...]) -> None:
    """Refuse too few seeds, too many runs, and a parameter both varied and fixed: the design's value would win
    while the study recorded the fixed one as its scenario's."""
    fixed = set(set_keys(overrides))
    if both := [name for name in design.params if name in fixed]:
        raise ScenarioError(f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} both varied by the design and "
                            "fixed by --set, --scale or --years; give each parameter one way")
    if seeds < 1:
        raise ScenarioError(f"--seeds must be 1 or more, got {seeds}")
    if len(design.points) * seeds > MAX_RUNS:
        raise ScenarioError(f"{len(design.points):,} points x {seeds} seeds is more than {MAX_RUNS:,} runs")


def with_dated(scenario: Scenario, design: Design) -> Scenario:
    """The scenario with the design's dated keys (`section.field@DATE`) at its first point's values: the steps
    they make or change are the same at every point, only their values differ."""
    from northroute.scenario import apply_override

    scen = scenario.model_copy(deep=True)
    for name, value in design.overrides(0) if len(design.points) else []:
        if "@" in name:
            scen = apply_override(scen, name, value)
    return scen


def _run_spans(scenario: Scenario, design: Design) -> list[tuple[str, Scenario]]:
    """(where, scenario) for each distinct start and length of run in the design (one, unless it varies them)."""
    from northroute.scenario import apply_override

    cols = [c for c in ("time.start", "time.years") if c in design.points]
    if not cols:
        return [("every design point", scenario)]
    spans = []
    for record in design.points.drop_duplicates(cols).to_dict("records"):
        scen = scenario.model_copy(deep=True)
        for c in cols:
            scen = apply_override(scen, c, designs._plain(record[c]))
        spans.append((f"design point {record['point']}", scen))
    return spans


def _check_from_year(scenario: Scenario, design: Design, from_year: int | None) -> None:
    """A `--from-year` must be a year every run records: the outputs of a run that ends before it would be NaN."""
    from northroute.report.compare import claim_period

    for where, scen in _run_spans(scenario, design) if from_year is not None else []:
        try:
            claim_period(scen.time.start, scen.weeks, from_year=from_year)
        except ValueError as exc:
            raise ScenarioError(f"{exc}{'' if where == 'every design point' else f' (at {where})'}") from None


def short_period(plan: Plan) -> list[str]:
    """A warning when `--from-year` leaves less than a year to read in some run: its rates and means rest on a few
    weeks."""
    from northroute.report.compare import claim_period

    if plan.from_year is None:
        return []
    periods = [(where, claim_period(s.time.start, s.weeks, from_year=plan.from_year))
               for where, s in _run_spans(plan.scenario, plan.design)]
    where, period = min(periods, key=lambda wp: wp[1].weeks)
    if period.weeks >= 52:
        return []
    return [f"at {where}, --from-year {plan.from_year} leaves {period.weeks} recorded week"
            f"{'s' if period.weeks > 1 else ''} to read ({period.start} to {period.end}): the outputs' rates and means "
            "rest on them"]


def many_lots(plan: Plan) -> list[str]:
    """The many-lots warning of `run` for a study: how many design points make very many lots, and the most."""
    from northroute.processes.supply import MANY_LOTS_PER_WEEK, lots_per_week, many_lots_line

    points, base = plan.design.points, plan.scenario
    supply = {c.split(".", 1)[1]: points[c].to_numpy() for c in points.columns if c.startswith("supply.")}
    scale = points["population.scale"].to_numpy(float) if "population.scale" in points else base.population.scale
    n = np.broadcast_to(lots_per_week(base.supply, scale, **supply), len(points))
    if not (many := int((n > MANY_LOTS_PER_WEEK).sum())):
        return []
    return [many_lots_line(f"at {many:,} of {len(points):,} design points more than {MANY_LOTS_PER_WEEK:,} lots a week "
                           f"enter the routes, up to about {n.max():,.0f}")]


def late_steps(plan: Plan) -> list[str]:
    """`run`'s warnings of timeline steps after the last week or before the start, for a study: over every start
    and length of run the design gives, each warning where it names the most steps."""
    from northroute.scenario import steps_outside_run

    found: dict[bool, tuple[str, str]] = {}
    for where, scen in _run_spans(with_dated(plan.scenario, plan.design), plan.design):
        for line in steps_outside_run(scen):
            early = line.startswith("the run starts on")
            if early not in found or line.count(",") > found[early][1].count(","):
                found[early] = (where, line)
    return [f"at {where}, {line}" for where, line in found.values()]


def price_spirals(outputs: pd.DataFrame | None) -> str:
    """`run`'s warning of prices beyond the evidence, for a study's runs (output `price_peak_rise` above
    `PRICE_RISE_FLAG`), or '' (also without outputs, and for studies made before the output existed)."""
    from northroute.results import PRICE_RISE_FLAG

    if outputs is None or "price_peak_rise" not in outputs:
        return ""
    rise = outputs["price_peak_rise"]
    if not (n := int((rise > PRICE_RISE_FLAG).sum())):
        return ""
    top = outputs.loc[rise.idxmax()]
    return (f"{n:,} of {int(rise.notna().sum()):,} runs reach a yearly mean price more than {PRICE_RISE_FLAG:g} times "
            f"Table 5.6's 2012 price (output price_peak_rise; the highest, {rise.max():,.0f} times, in run "
            f"{top['run_id']}), beyond the largest rise the evidence reports (L1378): the arrest-risk premium has no "
            "ceiling (docs/ODD.md, limitation 23); `northroute report STUDY/runs/RUN_ID` writes that run's report, "
            "whose warning names the drug, place and year")


def plan_sweep(scenario: str | Path | Scenario, vary: list[str], seeds: int = 1,
               overrides: list[str] | tuple[str, ...] = (), command: str = "", from_year: int | None = None) -> Plan:
    """A full grid over every `section.field=start:stop:step` (or `=a,b,c`) in `vary`; outputs read from
    1 January of `from_year` if given."""
    base = _base(scenario, overrides)
    design = designs.grid([designs.parse_vary(v, base) for v in vary])
    _check_plan(seeds, design, overrides)
    _check_from_year(base, design, from_year)
    return Plan("sweep", base, design, seeds, command, from_year)


def plan_sensitivity(scenario: str | Path | Scenario, method: str, params: str | Path | dict[str, tuple[float, float]],
                     n: int, seeds: int = 1, levels: int = 4, sample_seed: int = 0,
                     overrides: list[str] | tuple[str, ...] = (), command: str = "",
                     from_year: int | None = None) -> Plan:
    """A Morris or Sobol design over parameter ranges (a file, or {name: (min, max)}); outputs read from
    1 January of `from_year` if given."""
    base = _base(scenario, overrides)
    ranges = params if isinstance(params, dict) else designs.read_params(params)
    design = designs.sensitivity(method, designs.problem(ranges, base), n, base, levels, sample_seed)
    _check_plan(seeds, design, overrides)
    _check_from_year(base, design, from_year)
    return Plan("sensitivity", base, design, seeds, command, from_year)


def connect_executor(workers: int | None, scheduler: str | None, timeout: float) -> Executor:
    """The executor, or a StudyError naming the scheduler that did not answer."""
    if workers is not None and workers < 1:
        raise StudyError(f"--workers must be 1 or more, got {workers}")
    if scheduler is not None and "://" not in scheduler:
        raise StudyError(f"--scheduler needs an address like tcp://HOST:8786, got '{scheduler}'")
    try:
        return make_executor(workers, scheduler, timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise StudyError(f"cannot reach the Dask scheduler at {scheduler}: {' '.join(str(exc).split())}") from None


def run_study(plan: Plan, path: str | Path, workers: int | None = None, scheduler: str | None = None,
              timeout: float = 10.0, fn: RunFn = run_one,
              on_start: Callable[[Study, int, str], None] | None = None,
              on_outcome: Callable[[Outcome], None] | None = None) -> tuple[Study, dict[str, Any]]:
    """Create or resume the study in `path` and run what is left of it; returns the study and the session.

    `fn` runs one task (default `run_one`); it must be importable by the workers (a module-level function)."""
    path = Path(path).resolve()
    existing = Study.check_resumable(path, plan.kind, plan.scenario, plan.design, plan.seeds, plan.from_year)
    executor = connect_executor(workers, scheduler, timeout)
    with contextlib.ExitStack() as stack:
        stack.callback(executor.close)
        try:
            stack.enter_context(locked(path))
        except OSError as exc:
            raise StudyError(f"cannot write to study folder {path}: {exc.strerror or exc}") from None
        if existing is None:
            study = Study.create(path, plan.kind, plan.scenario, plan.design, plan.seeds, plan.command,
                                 plan.from_year)
        else:
            study = existing
            study.grow_seeds(plan.seeds)
        if on_start is not None:
            on_start(study, len(study.all_runs()) - len(study.done()), executor.description)
        session = execute(study, executor, fn, on_outcome)
    return study, session
