"""`northroute calibrate`: ABC-SMC fit of assumption parameters to the thesis's recorded series."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING, Annotated

import typer

from northroute.experiments.commands import Quiet, Workers, _count

if TYPE_CHECKING:  # pyabc loads only when a calibration runs, not with every command
    import pandas as pd

    from northroute.calibration.abc import Calibration

# The default particle budget. On this machine (2 cores) the default calibration with --check-scale 1 took about
# 6 s per particle tried (4 runs at scale 0.05, 6 years) plus 4 minutes of held-out fits before the Northern
# Route's decline (session 20), and 5-7 s after it (session 21: seed 3, 215 particles, 29 min with the check, too
# close to the 30). 200 kept a margin then (seed 3: 3 generations in 21.5 min with the check), but the
# machine's speed varies by a third over a day and the model grew: in session 40 the default calibration with 200
# took 35 min 17 s at a slow hour, and 30 min 30 s after that session's speed-ups. 180 took 24 min 9 s at the same
# hour, completing the same 3 generations (the fourth given up, as with 200) with a fit as close (docs/studies.md).
# A generation is given up only when it could pass the budget, so runs that need fewer particles are unchanged.
MAX_PARTICLES = 180


def register(app: typer.Typer) -> None:
    @app.command()
    def calibrate(
        targets: Annotated[str, typer.Option(help="Target set (thesis-2012-2017: Table 5.5 seizures, Table 5.6 "
                                                  "prices, the heroin price trend; records-2012-2017: the same and "
                                                  "the enforcement on record, drug crimes registered in 2015-2017 "
                                                  "and sale crimes and dealers sent to court in 2017).")]
        = "thesis-2012-2017",
        scenario: Annotated[str, typer.Option(help="Scenario calibrated (the recorded series of 2012-2017 were made "
                                                   "under the anti-corruption strategy).")] = "anticorruption-2015",
        params: Annotated[Path | None, typer.Option(help="Parameter ranges (TOML, as for `sensitivity`); default: "
                                                          "the assumption parameters screened as most influential.")]
        = None,
        scale: Annotated[float, typer.Option(help="Share of the national population per run (reduced scale).")]
        = 0.05,
        years: Annotated[float, typer.Option(help="Years per run (must cover 2012-2017).")] = 6.0,
        population: Annotated[int, typer.Option(help="Particles per generation.")] = 16,
        generations: Annotated[int, typer.Option(help="ABC-SMC generations (fewer if --max-particles runs out).")]
        = 4,
        max_particles: Annotated[int, typer.Option(
            help="Particles tried at most, in all generations: the generation that could pass it is given up. The "
                 "default keeps the default calibration with --check-scale 1 within 30 minutes on 2 cores "
                 "(docs/studies.md); a budget in particles, unlike one in minutes, gives the same result on any "
                 "machine.")] = MAX_PARTICLES,
        seed: Annotated[int, typer.Option(help="The sampler's seed (each particle's fresh seeds are drawn from it) "
                                               "and, with --same-seeds, every particle's first seed.")] = 0,
        particle_seeds: Annotated[int, typer.Option(help="Runs (seeds) per particle, averaged (fewer than 4 fit "
                                                        "the seeds' noise: docs/studies.md).")] = 4,
        fresh_seeds: Annotated[bool, typer.Option("--fresh-seeds/--same-seeds",
                                                  help="Draw each particle's seeds afresh (from --seed), or run "
                                                       "every particle with seeds --seed onwards.")] = True,
        prior: Annotated[str, typer.Option(help="Prior over each range: log-uniform (uniform over a range that starts "
                                                "at 0) or uniform.")] = "log-uniform",
        check_scale: Annotated[float | None, typer.Option(
            help="Also fit the defaults and the calibrated values over the test seeds at this scale (e.g. 1): prices "
                 "and seizures depend on the scale, so values fitted at a reduced scale may not fit there "
                 "(docs/studies.md).")] = None,
        fit_seeds: Annotated[int, typer.Option(help="Selection seeds (to choose among the posterior mean, the best "
                                                    "particle and the elite mean) and as many test seeds (to compare "
                                                    "them with the defaults), after the particle seeds.")]
        = 8,
        out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for posterior.csv, fit.csv, "
                                                     "particles.csv, calibration.html and calibrated.toml (default "
                                                     "runs/calibrate-HASH).")] = None,
        workers: Workers = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
        quiet: Quiet = False,
    ) -> None:
        """Fit assumption parameters to the thesis's recorded series with ABC-SMC (pyabc); write the posterior,
        the fit of defaults and calibrated values, and a calibrated scenario file."""
        import os

        from rich.markup import escape
        from rich.progress import MofNCompleteColumn, TextColumn

        from northroute.calibration import TARGETS, calibrate, scenario_toml
        from northroute.calibration.abc import OutOfBudget
        from northroute.calibration.report import write_page
        from northroute.calibration.targets import fit_table
        from northroute.cli import UsageError, _fail, _progress, _remove_empty, err, log_lines, out
        from northroute.scenario import ScenarioError

        try:
            if workers is not None and workers < 1:
                raise UsageError(f"--workers must be 1 or more, got {workers}")
            ranges, folder, created = _checked_inputs(targets, scenario, params, scale, years, population,
                                                      generations, max_particles, prior, seed, check_scale, fit_seeds,
                                                      particle_seeds, out_dir)
        except (ScenarioError, UsageError, ValueError) as exc:
            _fail(str(exc))
        n_workers = workers or os.cpu_count() or 1
        cal = None
        try:  # the folder is kept, so no other calibration takes its name, and removed again on failure
            progress = _progress(quiet, MofNCompleteColumn(), TextColumn("generations"))
            if not quiet:  # on a line of its own: in the bar's description it hid the bar on an 80-column terminal
                err.print(f"ABC-SMC {scenario} to {targets}: {_count(population, 'particle')} x "
                          f"{_count(generations, 'generation')} x {_count(particle_seeds, 'seed')} on "
                          f"{_count(n_workers, 'worker')}, at most {max_particles} particles tried", highlight=False,
                          soft_wrap=True)
            log = log_lines(quiet)
            with progress:
                bar = progress.add_task("ABC-SMC", total=generations)

                def step(t: int, eps: float, tried: int) -> None:
                    progress.update(bar, completed=t + 1, description=f"ABC-SMC epsilon {eps:.3f}, {tried} particles")
                    log(f"generation {t + 1} of {generations}: epsilon {eps:.3f}, {tried} particles tried")

                try:
                    cal = calibrate(scenario, targets, dict(ranges), scale, years, population, generations, n_workers,
                                    seed, particle_seeds, step, fresh_seeds, prior, max_particles)
                except OutOfBudget as exc:  # the particles are kept (the folder is not empty, so it stays)
                    _keep(folder, particles=exc.tried)
                    err.print(f"[bold red]error:[/] {escape(str(exc))}; the {len(exc.tried)} particles tried are in "
                              f"{folder / 'particles.csv'} (run again with another --out, or remove it)",
                              highlight=False, soft_wrap=True)
                    raise typer.Exit(1) from None
                except ValueError as exc:
                    _fail(str(exc))
            if cal.out_of_budget:
                err.print(f"calibrate: stopped after {_count(len(cal.epsilons), 'generation')} of {generations}: the "
                          f"next could have passed --max-particles {max_particles} ({cal.evaluations} tried)",
                          highlight=False, soft_wrap=True)
            held = _held_out_fits(cal, scenario, targets, scale, years, fit_seeds, check_scale, n_workers, quiet, log)
        except KeyboardInterrupt:
            if cal is None:
                _remove_empty(created)
                err.print("interrupted: nothing was kept", highlight=False)
            else:  # the ABC had finished: its particles and posterior are kept, the held-out fits were not made
                _keep(folder, particles=cal.tried, posterior=cal.posterior)
                err.print(f"interrupted during the held-out fits: the ABC's particles and posterior are kept in "
                          f"{folder} (particles.csv, posterior.csv); no calibrated scenario was written",
                          highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
        except BaseException:
            _remove_empty(created)
            raise
        chosen, estimate, select, test = held.chosen, held.estimates[held.chosen], held.select, held.test
        table = fit_table(TARGETS[targets](), {"defaults": held.s_default,
                                               **{k: v[1] for k, v in held.on_test.items()}})
        names = [f"the {name}" for name in held.estimates]
        how = (f"the {chosen} (of {', '.join(names[:-1])} and {names[-1]}, the closest to the targets over selection "
               f"seeds {select[0]}-{select[-1]})")
        meta = (f"{scenario} at scale {scale}, {years:g} years, {prior} prior; {population} particles x "
                f"{cal.ran()} ({cal.evaluations} particles x {particle_seeds} "
                f"{'fresh seeds drawn from seed' if fresh_seeds else 'seeds from'} {seed}); calibrated values: "
                f"{how}; fits over the test seeds {test[0]}-{test[-1]}")
        _keep(folder, particles=cal.tried, posterior=cal.posterior, fit=table)
        (folder / "calibrated.toml").write_text(scenario_toml(cal, estimate, f"{scenario}-calibrated", how))
        distances = {"defaults": held.d_default, **{k: v[0] for k, v in held.on_test.items()},
                     **{f"{k} at scale {check_scale:g}": v for k, v in held.at_check.items()}}
        write_page(cal, table, distances, estimate, folder / "calibration.html", meta)
        beat = sum(held.d_select[chosen]) < sum(held.d_select_default)
        if not beat:
            err.print(f"calibrate: the {chosen} was no closer to the targets than the defaults over the selection "
                      f"seeds ({fmean(held.d_select[chosen]):.3f} against {fmean(held.d_select_default):.3f}): the "
                      "calibration found nothing better than the defaults", highlight=False, soft_wrap=True)
        if as_json:
            key = {name: name.replace(" ", "_") for name in held.estimates}
            print(json.dumps({
                "targets": targets, "scenario": scenario, "prior": prior, "chosen": chosen, "estimate": estimate,
                **{key[k]: v for k, v in held.estimates.items()},
                "interval": {k: cal.interval(k) for k in estimate}, "epsilons": cal.epsilons,
                "runs": cal.evaluations, "max_particles": max_particles, "out_of_budget": cal.out_of_budget,
                "selection_seeds": select, "test_seeds": test,
                "distance_selection": held.d_select, "distance_selection_defaults": held.d_select_default,
                "beat_defaults_on_selection": beat, "distance_defaults": held.d_default,
                **{f"distance_{key[k]}": v[0] for k, v in held.on_test.items()},
                "distance_calibrated": held.on_test[chosen][0], "check_scale": check_scale,
                "distance_check": held.at_check, "folder": str(folder)}))
            return
        out.print(meta, highlight=False)
        _print_values(cal, held, ranges)
        avg = {k: sum(v) / len(v) for k, v in distances.items()}
        out.print(f"distance to {targets} (mean over the test seeds): " +
                  ", ".join(f"{k} {v:.3f}" for k, v in avg.items()) + f"; calibrated = {chosen}", highlight=False)
        out.print(f"calibration: {folder / 'calibration.html'}; scenario: {folder / 'calibrated.toml'}; score the "
                  f"facts with these values: northroute validate --values {folder / 'calibrated.toml'}",
                  highlight=False)

@dataclass
class HeldOut:
    """The candidates' and the defaults' distances to the targets over seeds the sampler never ran: selection
    seeds choose the calibrated values, test seeds (and the check scale, if any) compare them with the defaults."""
    estimates: dict[str, dict[str, float]]
    select: list[int]
    test: list[int]
    d_select: dict[str, list[float]]
    chosen: str
    d_select_default: list[float]
    d_default: list[float]
    s_default: dict[str, float]
    on_test: dict[str, tuple[list[float], dict[str, float]]]
    at_check: dict[str, list[float]]


def _held_out_fits(cal: Calibration, scenario: str, targets: str, scale: float, years: float, fit_seeds: int,
                   check_scale: float | None, n_workers: int, quiet: bool, log: Callable[[str], None]) -> HeldOut:
    from rich.progress import MofNCompleteColumn, TextColumn

    from northroute.calibration import fit
    from northroute.cli import _progress

    estimates = cal.estimates()
    select, test = cal.held_out_seeds(fit_seeds)
    log(f"fitting the estimates and the defaults over held-out seeds {select[0]}-{test[-1]}")
    fits = _progress(quiet, MofNCompleteColumn(), TextColumn("estimates"))
    with fits, ProcessPoolExecutor(n_workers) if n_workers > 1 else nullcontext() as pool:
        map_ = pool.map if pool is not None else map
        task = fits.add_task(f"held-out seeds {select[0]}-{test[-1]}",
                             total=2 * len(estimates) + 2 + 2 * (check_scale is not None))

        def held_out(values: dict[str, float], seeds: list[int], at: float = scale) -> tuple[list[float],
                                                                                             dict[str, float]]:
            result = fit(scenario, targets, values, at, years, seeds, map_)
            fits.advance(task)
            return result

        d_select = {name: held_out(values, select)[0] for name, values in estimates.items()}
        chosen = min(d_select, key=lambda name: sum(d_select[name]))
        d_select_default = held_out({}, select)[0]  # not a candidate: says whether the choice beat the defaults
        d_default, s_default = held_out({}, test)
        on_test = {name: held_out(values, test) for name, values in estimates.items()}
        at_check = {} if check_scale is None else {  # the same test seeds at the scale the values will be run at
            "defaults": held_out({}, test, check_scale)[0],
            "calibrated": held_out(estimates[chosen], test, check_scale)[0]}
    return HeldOut(estimates, select, test, d_select, chosen, d_select_default, d_default, s_default, on_test,
                   at_check)


def _print_values(cal: Calibration, held: HeldOut, ranges: dict[str, tuple[float, float]]) -> None:
    """One line per parameter: the calibrated value, every candidate's, the posterior's 90% interval, the prior."""
    from northroute.cli import out

    for k, v in held.estimates[held.chosen].items():
        lo, hi = cal.interval(k)
        others = ", ".join(f"{name} {values[k]:.4g}" for name, values in held.estimates.items())
        out.print(f"  {k} = {v:.4g}  ({others}; 90% interval {lo:.4g} to {hi:.4g}; prior {ranges[k][0]:g} to "
                  f"{ranges[k][1]:g})", highlight=False)


def _keep(folder: Path, **tables: pd.DataFrame) -> None:
    """Write each table as folder/NAME.csv (particles, posterior, fit), making the folder if need be: what a
    calibration has, whether it finished or stopped."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)


def _checked_inputs(targets: str, scenario: str, params: Path | None, scale: float, years: float, population: int,
                    generations: int, max_particles: int, prior: str, seed: int, check_scale: float | None,
                    fit_seeds: int, particle_seeds: int,
                    out_dir: Path | None) -> tuple[dict[str, tuple[float, float]], Path, list[Path]]:
    """The parameter ranges, the output folder and the folders made for it (innermost first), once every option
    has been checked: a bad one is refused before the calibration's quarter of an hour, not after it."""
    from northroute.calibration import DEFAULT_PARAMS, TARGETS
    from northroute.calibration.abc import PRIORS
    from northroute.calibration.targets import YEARS
    from northroute.cli import UsageError, _digest, _writable, unique_name
    from northroute.experiments.designs import problem, read_params
    from northroute.scenario import ScenarioError, load_scenario
    from northroute.validation.facts import coverage_gap

    if targets not in TARGETS:
        raise UsageError(f"unknown targets '{targets}' (known: {', '.join(TARGETS)})")
    if min(population, generations, fit_seeds, particle_seeds) < 1:
        raise UsageError("--population, --generations, --particle-seeds and --fit-seeds must be 1 or more")
    if max_particles < 2 * population:  # the sample from the prior and the first generation
        raise UsageError(f"--max-particles must be at least twice --population ({2 * population}), got "
                         f"{max_particles}")
    if prior not in PRIORS:
        raise UsageError(f"--prior must be one of {', '.join(PRIORS)}, got '{prior}'")
    if not 0 <= seed < 2**32:  # pyabc draws from numpy's global generator, seeded with it
        raise UsageError(f"--seed must be between 0 and {2**32 - 1}, got {seed}")
    base = load_scenario(scenario, [f"population.scale={scale}", f"time.years={years}"])
    if gap := coverage_gap(base.time.start, base.weeks):
        raise UsageError(f"calibrate: the targets read the whole years {YEARS[0]}-{YEARS[-1]}; {scenario} "
                         f"run for {years:g} years from {base.time.start} {gap}")
    if check_scale is not None:  # refused now, not after the calibration's quarter of an hour
        try:
            load_scenario(scenario, [f"population.scale={check_scale}", f"time.years={years}"])
        except ScenarioError as exc:
            raise UsageError(f"--check-scale: {exc}") from None
    ranges = read_params(params) if params else DEFAULT_PARAMS
    if dated := [name for name in ranges if "@" in name]:
        raise UsageError(f"--params: calibrate fits start values, not timeline steps ({dated[0]}): a calibrated "
                         "value is laid on every scenario alike, and a step belongs to one")
    checked = problem(ranges, base)  # as `sensitivity` checks them: numeric, in range, min below max
    ranges = dict(zip(checked["names"], map(tuple, checked["bounds"]), strict=True))
    folder = out_dir or Path("runs") / unique_name(Path("runs"), f"calibrate-{_digest([scenario, ranges])}")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(f"output folder {folder} is not empty")
    created = [f for f in (folder, *folder.parents) if not f.exists()]
    _writable(folder)
    return ranges, folder, created
