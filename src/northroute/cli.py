"""Command line: `northroute run`, `compare`, `validate`, `scenarios`, `params` (and registered groups).

Bad input of any kind (unknown scenario, bad TOML, unknown parameter, value out of range,
unwritable output folder) ends with exit code 2 and one line naming the problem, before any run
starts. A run's folder is filled only when the run has finished, and folders made for it are removed
again if it fails (a comparison's folder too, if its runs fail or are interrupted).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from northroute.experiments.commands import Workers
from northroute.scenario import (
    SECTIONS,
    Scenario,
    ScenarioError,
    builtin_names,
    changed_later,
    changed_text,
    file_values,
    load_scenario,
    param_table,
    set_keys,
    start_only,
    steps_outside_run,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from northroute.report.compare import Period

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Agent-based simulator of the drug trade and police corruption on Kazakhstan's Northern Route.")
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class UsageError(Exception):
    """A user mistake reported as one line with exit code 2."""


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def check_out_suffix(path: Path | None, suffix: str) -> None:
    """An --out file must end in its format's suffix: a slip (RUN/timeseries.parquet, RUN/manifest.json) would
    otherwise overwrite a run's own data."""
    if path is not None and path.suffix.lower() != suffix:
        _fail(f"--out must be a {suffix} file, got {path}")


def manifest_seed(scenario: str) -> int:
    """The seed a run's manifest.json records (a rerun from it is the same run), else 0."""
    path = Path(scenario)
    if path.name != "manifest.json" or not path.is_file():
        return 0
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ScenarioError(f"{scenario} is not a run's manifest.json (no seed)") from None


def _resolve(scenario: str, seed: int, years: float | None, scale: float | None, sets: list[str]) -> Scenario:
    if seed < 0:
        raise ScenarioError(f"--seed must be 0 or more, got {seed}")
    overrides = list(sets)
    if years is not None:
        overrides.append(f"time.years={years}")
    if scale is not None:
        overrides.append(f"population.scale={scale}")
    return load_scenario(scenario, overrides)


def warn(lines: list[str]) -> None:
    """Print warnings before a command runs, one line each (a line repeated for two sides once)."""
    for line in dict.fromkeys(lines):
        err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)


def _writable(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"cannot write to output folder {folder}: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {folder}: {exc.strerror or exc}") from None


def unique_name(folder: Path, base: str) -> str:
    """`base`, or `base-2`, `base-3`, ...: the first name not taken in `folder`."""
    name, k = base, 1
    while (folder / name).exists():
        k += 1
        name = f"{base}-{k}"
    return name


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]


def run_id(scen: Scenario, seed: int) -> str:
    """Readable and reproducible: scenario name, seed and a hash of the resolved scenario (saved with
    `unique=True`, so a second run of the same scenario and seed gets `-2`)."""
    return f"{scen.name}-s{seed}-{_digest([scen.model_dump(mode='json'), seed])}"


LOG_LINES = 20  # without a terminal, a command that counts runs prints its progress about this many times


def log_runs(log: Callable[[str], None], done: int, total: int, failed: int) -> None:
    """Log `done` of `total` runs on about `LOG_LINES` of the counts, the last always."""
    if done == total or done % max(1, total // LOG_LINES) == 0:
        log(f"{done:,} of {total:,} runs, {failed:,} failed")


def log_lines(quiet: bool) -> Callable[[str], None]:
    """Print a line with the time elapsed since this call, only when stderr is not a terminal: a log file shows
    no progress bar, and a calibration or a study can take an hour."""
    started = time.monotonic()

    def log(line: str) -> None:
        if not quiet and not err.is_terminal:
            minutes, seconds = divmod(round(time.monotonic() - started), 60)
            err.print(f"{line} ({minutes}:{seconds:02d} elapsed)", highlight=False, soft_wrap=True)

    return log


def _progress(quiet: bool, *counts: ProgressColumn) -> Progress:
    """The progress bar of `run` and `compare` (on stderr, gone when done), with `counts` after the bar."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), *counts, TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err, disable=quiet, transient=True)


# Options shared by `run` and `compare`.
Years = Annotated[float | None, typer.Option(help="Years to simulate (overrides time.years).")]
Scale = Annotated[float | None, typer.Option(help="Share of the national population as agent rows.")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="Override a parameter: section.field=value; "
                                                            "section.field@YYYY-MM-DD=value sets (or adds) the "
                                                            "timeline step of that date.")]
Quiet = Annotated[bool, typer.Option(help="No progress bar.")]


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a TOML file.")] = "baseline-2012",
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0, or the seed of a manifest.json rerun).",
                                             show_default=False)] = None,
    years: Years = None,
    scale: Scale = None,
    set_: Sets = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder that receives the run folder.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (its run_dir names the run).")] = False,
    report: Annotated[bool, typer.Option(help="Write report.html into the run folder.")] = True,
    quiet: Quiet = False,
) -> None:
    """Run one scenario, write runs/<run-id>/ and print a summary."""
    from northroute import run as run_model
    from northroute.processes.supply import many_lots
    from northroute.results import summarize

    new_folders = [f for f in (out_dir, *out_dir.parents) if not f.exists()]  # what _writable creates, inner first
    try:
        seed = manifest_seed(scenario) if seed is None else seed
        scen = _resolve(scenario, seed, years, scale, set_ or [])
        _writable(out_dir)
    except (ScenarioError, UsageError) as exc:
        _fail(str(exc))
    warn(changed_later(scen, set_keys(set_ or [])) + steps_outside_run(scen) + many_lots(scen))
    progress = _progress(quiet, TextColumn("{task.completed}/{task.total} weeks"))
    try:
        with progress:
            task = progress.add_task(f"{scen.name} seed {seed}", total=scen.weeks + scen.time.burn_in_weeks)
            results = run_model(scen, seed, progress=lambda done, total: progress.update(task, completed=done))
    except ScenarioError as exc:
        _remove_empty(new_folders)
        _fail(str(exc))
    except KeyboardInterrupt:
        _remove_empty(new_folders)
        err.print("interrupted: nothing was written")
        raise typer.Exit(130) from None

    def write_report(folder: Path) -> None:
        if report:
            from northroute.report import write_report as write

            write(results, folder / "report.html")

    try:
        results.save(out_dir, run_id(scen, seed), extra=write_report, unique=True)
    except OSError as exc:
        _fail(f"cannot write the run folder in {out_dir}: {exc.strerror or exc}")
    summary = summarize(results)
    if as_json:
        print(json.dumps(summary, default=float))
    else:
        _print_summary(summary)


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a command created (innermost first) if they are still empty: a run that wrote
    nothing leaves nothing behind."""
    for folder in folders:
        with contextlib.suppress(OSError):  # not empty (another run saved there meanwhile), or already gone
            folder.rmdir()


def _print_summary(s: dict) -> None:
    out.print(f"[bold]{s['scenario']}[/] seed {s['seed']}: {s['weeks']} weeks at scale {s['scale']} "
              f"in {s['wall_time_s']:.1f} s ({s['agent_steps_per_s'] / 1e6:.2f} M agent-steps/s)")
    if s["changed"]:
        out.print("changed from the defaults: " + "; ".join(changed_text(s["changed"])), highlight=False)
    flows = Table(title="Flows by route (kg over the run, simulated rows)")
    flows.caption = "lots bought in the burn-in are not counted as bought but are counted when they enter or leave"
    for col in ("route", "substance", "bought at source", "entered KZ", "seized", "to Russia"):
        flows.add_column(col, justify="right" if col not in ("route", "substance") else "left")
    for r in s["routes"]:
        flows.add_row(r["route"], r["substance"], *(f"{r[k]:,.0f}" for k in ("source_kg", "entered_kg", "seized_kg",
                                                                             "exported_kg")))
    out.print(flows)
    subs = Table(title="By substance (simulated rows: kg over the run, users and dealers in the last week)")
    subs.caption = ("all seized: at crossings and staging posts, in arrests and by the Koknar operation, as taken (the "
                    "route table's seized is in transit only: crossings and staging posts); prices: national mean over "
                    f"{s['first_year']}, the run's first calendar year ({s['first_year_weeks']} weeks), vs the 2012 "
                    "average of Table 5.6 (KZT/g)")
    cols = ("substance", "all seized kg", "consumed kg", "wholesale", "T5.6", "retail", "T5.6 ", "users",
            "retail dealers", "wholesalers")
    for col in cols:
        subs.add_column(col, justify="left" if col == "substance" else "right")
    for r in s["substances"]:
        subs.add_row(r["substance"], f"{r['seized_kg']:,.0f}", f"{r['consumed_kg']:,.0f}",
                     f"{r['wholesale_price_first_year']:,.0f}", f"{r['wholesale_price_2012_table']:,.0f}",
                     f"{r['retail_price_first_year']:,.0f}", f"{r['retail_price_2012_table']:,.0f}",
                     f"{r['users_end']:,.0f}", f"{r['retail_dealers_end']:,.0f}", f"{r['wholesalers_end']:,.0f}")
    out.print(subs)
    enf = Table(title="Enforcement (simulated rows, per year; prisoners and officers at the end)")
    for col in ("level", "arrests (true: role)", "arrests (recorded: charge)", "convictions (by charge)",
                "prisoners (by role)"):
        enf.add_column(col, justify="left" if col == "level" else "right")
    police = s["enforcement"][-1]
    for r in s["enforcement"][:-1]:
        enf.add_row(r["level"], *(f"{r[k]:,.0f}" for k in ("arrests_per_year", "recorded_arrests_per_year",
                                                              "convictions_per_year", "inmates_end")))
    enf.caption = (f"level: the person's role (true) or the level of the charge (recorded, e.g. a pool's buyer as "
                   f"wholesale); couriers caught at crossings are recorded trafficking arrests but not people of the "
                   f"model, so never convicted; arrests bought off appear in neither, nor do people picked and let "
                   f"go holding no crime ({police.get('released_no_case_per_year', 0.0):,.0f}/year: possession below "
                   f"the small amount is no case); registered drug crimes "
                   f"{police['registered_crimes_per_year']:,.0f}/year; corruption cases "
                   f"{police['corruption_cases_per_year']:,.1f}/year; corrupt officers "
                   f"{police['corrupt_officers_end']:,.0f}; "
                   f"protected wholesalers {police['protected_wholesalers_end']:,.0f}")
    out.print(enf)
    for warning in s["warnings"]:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False)
    out.print(f"run folder: {s['run_dir']}")


@app.command()
def compare(
    a: Annotated[str, typer.Argument(metavar="A", help="Scenario A, the reference: built-in name or TOML file.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Scenario B, compared with A.")],
    seeds: Annotated[int, typer.Option(help="Seeds 0..N-1, each run for A and for B (paired by seed).")] = 5,
    years: Years = None,
    scale: Scale = None,
    set_: Sets = None,
    from_year: Annotated[int | None, typer.Option(help="Compare from 1 January of this year (default: from B's first "
                                                       "timeline date, or the last half of the run).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the runs, comparison.html and "
                                                 "comparison.csv (default runs/compare-A-B-HASH).")] = None,
    workers: Workers = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line instead of the table.")] = False,
    quiet: Quiet = False,
) -> None:
    """Run A and B with the same seeds; print the differences the thesis makes claims about, with intervals."""
    from northroute.experiments.store import StudyError
    from northroute.processes.supply import many_lots
    from northroute.report.compare import claim_period, differing_dates

    try:
        if seeds < 1:
            raise UsageError(f"--seeds must be 1 or more, got {seeds}")
        scens = {side: _resolve(name, 0, years, scale, set_ or []) for side, name in (("A", a), ("B", b))}
        sb = scens["B"]
        try:
            steps = {side: [e.model_dump(mode="json") for e in scen.timeline] for side, scen in scens.items()}
            period = claim_period(sb.time.start, sb.weeks, differing_dates(steps["B"], steps["A"]), from_year)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        folder, created, executor = _sides_folder(out_dir, f"compare-{scens['A'].name}-{sb.name}", scens, seeds,
                                                  workers)
    except (ScenarioError, UsageError, StudyError) as exc:
        _fail(str(exc))
    early = ([line for scen in scens.values() for line in changed_later(scen, set_keys(set_ or [])) + many_lots(scen)]
             + [f"{side} ({scen.name}): {line}" for side, scen in scens.items() for line in steps_outside_run(scen)]
             + same_sides(scens["A"], scens["B"]))
    warn(early)
    tasks = _run_sides(folder, created, scens, seeds, executor, quiet, "compare",
                       f"A {scens['A'].name} vs B {sb.name}, {seeds} seed{'s' if seeds > 1 else ''}")
    _compare_report(folder, created, scens, tasks, period, as_json, early)


@app.command()
def validate(
    scenarios: Annotated[list[str] | None, typer.Argument(
        metavar="[BASELINE [REFORM]]",
        help="The baseline and the reform scenario (default baseline-2012 anticorruption-2015).")] = None,
    seeds: Annotated[int, typer.Option(help="Seeds 0..N-1 of each scenario.")] = 3,
    years: Years = None,
    scale: Scale = None,
    set_: Sets = None,
    values: Annotated[Path | None, typer.Option(
        "--values", help="A file of parameter values (calibrate's calibrated.toml) set on every scenario, as --set "
                         "would; --set wins.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the runs, scorecard.html and scorecard.csv "
                                                 "(default runs/validate-HASH).")] = None,
    workers: Workers = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scorecard as one JSON line.")] = False,
    quiet: Quiet = False,
) -> None:
    """Run the baseline and the reform scenario and score the thesis's stylised facts (pass or miss).

    SF28 also runs the built-in pair manager-liability and manager-liability-off (2012-2014, same seeds,
    --scale, --values and --set, their own three years). --values scores a calibration's values as a held-out
    test: the facts were not among its targets."""
    from northroute.experiments.store import StudyError
    from northroute.processes.supply import many_lots
    from northroute.validation import scorecard, scorecard_html, scorecard_json
    from northroute.validation.facts import LIABILITY_SCENARIOS, SCORED_YEARS, coverage_gap
    from northroute.validation.scorecard import fit_to_records, observed, regional_prices, seeds_in_band, summary

    names = list(scenarios or [])
    try:
        if len(names) > 2:
            raise UsageError(f"validate takes at most two scenarios (baseline, reform), got {len(names)}")
        if seeds < 1:
            raise UsageError(f"--seeds must be 1 or more, got {seeds}")
        set_ = (file_values(values) if values else []) + (set_ or [])
        if any(key.startswith("time.") for key in set_keys(set_)):
            raise UsageError("validate: set the run length with --years (the liability pair keeps its own three "
                             "years), not with --set time.*")
        names += ["baseline-2012", "anticorruption-2015"][len(names):]
        scens = {side: _resolve(name, 0, years, scale, set_)
                 for side, name in zip(("baseline", "reform"), names, strict=True)}
        for name, scen in zip(names, scens.values(), strict=True):
            if gap := coverage_gap(scen.time.start, scen.weeks):
                raise UsageError(f"validate: the facts read the whole years {SCORED_YEARS[0]}-{SCORED_YEARS[1]}; "
                                 f"{name} run for {scen.time.years:g} years from {scen.time.start} {gap}")
        scens |= {side: _resolve(name, 0, None, scale, set_) for side, name in LIABILITY_SCENARIOS.items()}
        folder, created, executor = _sides_folder(out_dir, "validate", scens, seeds, workers)
    except (ScenarioError, UsageError, StudyError) as exc:
        _fail(str(exc))
    scale_note = [f"at scale {scens['baseline'].population.scale:g} the verdicts of some facts differ from those at "
                  "national scale (README, validate), which the shipped scorecard uses"
                  ] if scens["baseline"].population.scale < 1 else []
    warn([line for scen in scens.values() for line in changed_later(scen, set_keys(set_)) + many_lots(scen)]
         + scale_note)
    plural = "s" if seeds > 1 else ""
    tasks = _run_sides(folder, created, scens, seeds, executor, quiet, "validate",
                       f"{names[0]}, {names[1]} and the liability pair, {seeds} seed{plural}")
    runs = {side: [r.timeseries for r in rs] for side, rs in _load_sides(folder, scens, tasks).items()}
    card = scorecard(runs)
    fit = fit_to_records(runs["reform"], scens["reform"].population.scale)
    regional = regional_prices(runs["baseline"])
    meta = (f"baseline {names[0]}, reform {names[1]}, liability {' and '.join(LIABILITY_SCENARIOS.values())}; "
            f"seeds 0-{seeds - 1}; scale {scens['baseline'].population.scale}; "
            + (f"values of {values}; " if values else "") +
            "observed = mean over seeds [90% t-interval of the mean]" + "".join(f"; warning: {w}" for w in scale_note))
    try:
        card.to_csv(folder / "scorecard.csv", index=False)
        page = scorecard_html(card, "northroute validation scorecard", f"{meta}; {fit}; {regional}")
        (folder / "scorecard.html").write_text(page)
    except OSError as exc:
        _fail(f"cannot write the scorecard in {folder}: {exc.strerror or exc}")
    if as_json:
        print(json.dumps(scorecard_json(card)))
        return
    tab = Table(title="Stylised facts of the thesis: model against evidence", caption=meta)
    for col in ("fact", "claim", "evidence", "scenario", "band", "observed", "seeds in band", "status", "note"):
        tab.add_column(col, overflow="fold")
    for _, r in card.iterrows():
        colour = "green" if r["status"] == "pass" else "red"
        tab.add_row(r["id"], r["claim"], r["evidence"], r["scenario"], r["band"], observed(r), seeds_in_band(r),
                    f"[{colour}]{r['status']}[/]", r["note"])
    out.print(tab)
    out.print(f"{summary(card)}; {fit}; {regional}; scorecard: {folder / 'scorecard.html'}", highlight=False)


def _sides_folder(out_dir: Path | None, stem: str, scens: dict[str, Scenario], seeds: int, workers: int | None):
    """The output folder of a multi-scenario command (new or empty; default runs/STEM-HASH), whether this
    command creates it, and the executor its runs use. Raises UsageError or StudyError."""
    from northroute.experiments.study import connect_executor

    digest = _digest([s.model_dump(mode="json") for s in scens.values()] + [seeds])
    folder = out_dir or Path("runs") / unique_name(Path("runs"), f"{stem}-{digest}")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(f"output folder {folder} is not empty")
    executor = connect_executor(workers, None, 10.0)
    created = not folder.exists()
    _writable(folder)
    return folder, created, executor


def _run_sides(folder: Path, created: bool, scens: dict[str, Scenario], seeds: int, executor, quiet: bool,
               name: str, label: str) -> list:
    """Run every scenario of `scens` (keyed by side) with seeds 0..seeds-1 into folder/<side>/runs on the
    executor, with a progress bar named `name` after a line saying what runs (`label`: too long for the bar
    itself on an 80-column terminal); on failure or Ctrl-C remove what was written and exit (1 or 130)."""
    from northroute.experiments.runner import RunTask, run_one
    from northroute.experiments.store import RUNS_DIR, SCENARIO_FILE, write_json

    try:
        tasks = []
        for side, scen in scens.items():
            (folder / side / RUNS_DIR).mkdir(parents=True)
            write_json(folder / side / SCENARIO_FILE, scen.model_dump(mode="json"))
        for seed in range(seeds):  # the sides of a seed one after the other: pairs finish together
            for point, (side, scen) in enumerate(scens.items()):  # run ids unique over all sides (the pool's key)
                rid = f"{side}-{run_id(scen, seed)}"
                tasks.append(RunTask(str((folder / side).resolve()), rid, point, seed, ()))
    except OSError as exc:
        _discard(folder, created)
        _fail(f"cannot write to output folder {folder}: {exc.strerror or exc}")
    progress = _progress(quiet, MofNCompleteColumn(), TextColumn("runs"))
    failed: list[dict] = []
    try:
        with progress, contextlib.closing(executor.run(tasks, run_one)) as outcomes:
            if not quiet:
                err.print(f"{name} {label}: {len(tasks)} runs on {executor.description}", highlight=False,
                          soft_wrap=True)
            bar = progress.add_task(name, total=len(tasks))
            log = log_lines(quiet)
            for done, o in enumerate(outcomes, 1):
                failed += [o] if o["status"] == "failed" else []
                progress.advance(bar)
                log_runs(log, done, len(tasks), len(failed))
    except KeyboardInterrupt:
        _discard(folder, created)
        err.print("interrupted: nothing was kept")
        raise typer.Exit(130) from None
    finally:
        executor.close()
    if failed:
        _discard(folder, created)
        err.print(f"[bold red]error:[/] {len(failed)} of {len(tasks)} runs failed, nothing was kept; first: "
                  f"{failed[0]['run_id']}: {failed[0].get('error')}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    return tasks


def _load_sides(folder: Path, scens: dict[str, Scenario], tasks: list) -> dict[str, list]:
    from northroute.experiments.store import RUNS_DIR
    from northroute.results import Results

    return {side: [Results.load(folder / side / RUNS_DIR / t.run_id) for t in tasks if t.point == point]
            for point, side in enumerate(scens)}


def same_sides(a: Scenario, b: Scenario) -> list[str]:
    """A warning when A and B are one scenario once --set is laid on both (their names and descriptions aside):
    every difference the comparison shows is then zero."""
    def body(scen: Scenario) -> dict:
        return scen.model_dump(mode="json", exclude={"name", "description", "extends"})

    if body(a) != body(b):
        return []
    return ["A and B are the same scenario once --set is laid on both (compare lays it on both sides), so every "
            "difference is zero; to compare a timeline step against none, write B as a file that extends A with "
            "the step, or sweep section.field@DATE=OLD,NEW"]


def _compare_report(folder: Path, created: bool, scens: dict[str, Scenario], tasks: list, period: Period,
                    as_json: bool, early: list[str]) -> None:
    """Load the runs of `compare`, write comparison.csv, .json and .html, and print the table (or JSON); `early`:
    the warnings printed before the runs, kept with those the runs raise (JSON, page, printed at the end)."""
    from northroute.report.compare import (
        CLAIMS_HEAD,
        NOT_JUDGED,
        claims_json,
        claims_rows,
        claims_table,
        write_comparison,
    )

    runs = _load_sides(folder, scens, tasks)
    table = claims_table(runs["A"], runs["B"], period)
    table.attrs["warnings"] = early + table.attrs["warnings"]
    html_path, csv_path = folder / "comparison.html", folder / "comparison.csv"
    seeds = [r.manifest["seed"] for r in runs["A"]]
    sides = {side.lower(): {"scenario": scens[side].name, "seeds": [r.manifest["seed"] for r in rs],
                            "scale": scens[side].population.scale, "weeks": scens[side].weeks,
                            "runs": [str(r.run_dir) for r in rs]} for side, rs in runs.items()}
    record = json.dumps({**sides, "period": {"from": str(period.start), "to": str(period.end), "weeks": period.weeks,
                                             "basis": period.basis},
                         **{k: table.attrs[k] for k in ("interval", "paired", "pairing", "warnings", "scale_note")},
                         "claims_judged": table.attrs["judged"], "folder": str(folder), "report": str(html_path),
                         "csv": str(csv_path), "outcomes": claims_json(table)})
    try:
        table.to_csv(csv_path)
        (folder / "comparison.json").write_text(record + "\n")
        write_comparison(runs["A"], runs["B"], html_path, claims=table)
    except OSError as exc:
        _discard(folder, created)
        _fail(f"cannot write the comparison in {folder}: {exc.strerror or exc}")
    if as_json:
        print(record)
        return
    which = f"seeds {seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}"
    length = {side: f"{s.weeks} weeks at scale {s.population.scale}" for side, s in scens.items()}
    out.print(f"[bold]A[/] {escape(scens['A'].name)} vs [bold]B[/] {escape(scens['B'].name)}: {which} on each side, "
              + (length["A"] if length["A"] == length["B"] else f"A {length['A']}, B {length['B']}"), highlight=False)
    out.print(f"period: {period.describe()}", highlight=False)
    tab = Table(title="What the thesis claims: A, B and B − A",
                caption=f"mean [{table.attrs['interval']}]; {table.attrs['pairing']}; counts are national "
                        "equivalents (÷ scale), per year or averaged over the weeks; as claimed: yes if B − A has the "
                        "claimed sign and its interval excludes 0")
    for col in CLAIMS_HEAD:
        tab.add_column(col, justify="left" if col in ("outcome", "unit", "thesis claim") else "right",
                       overflow="fold")
    for row in claims_rows(table):
        tab.add_row(*row)
    out.print(tab)
    if not table.attrs["judged"]:
        out.print(NOT_JUDGED, highlight=False)
    if table.attrs["scale_note"]:
        out.print(table.attrs["scale_note"], highlight=False)
    for warning in table.attrs["warnings"]:
        out.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    out.print(f"comparison: {html_path} (table: {csv_path.name}; with the period, settings and warnings: "
              f"comparison.json; runs in {folder}/A and {folder}/B)", highlight=False)


def _discard(folder: Path, created: bool) -> None:
    """Remove what a failed or interrupted `compare` wrote: the folder if it made it, else what it put in it."""
    if created:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    table = Table(title="Built-in scenarios")
    table.add_column("name")
    table.add_column("description")
    for name in builtin_names():
        table.add_row(name, load_scenario(name).description)
    out.print(table)


@app.command()
def params(
    section: Annotated[str | None, typer.Option(help="Only this section (e.g. market).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list instead of a table.")] = False,
) -> None:
    """List every parameter with what it does, unit, range, default, provenance, the kind of its provenance (assumption,
    sourced rule with an assumed value, value from the thesis, ...) and whether one of the two shipped Morris
    screenings covered it (the report's evidence page rests on both, calibrate's default set on the first)."""
    from northroute.report.evidence import screened_parameters

    screened = screened_parameters()
    rows = [r | {"screened": r["name"] in screened, "start_only": start_only(r["name"])} for r in param_table()
            if section is None or r["name"].startswith(f"{section}.")]
    if not rows:
        close = difflib.get_close_matches(section or "", SECTIONS, n=1)
        _fail(f"no parameters in section '{section}'" + (f" (did you mean '{close[0]}'?)" if close else
                                                         f"; sections: {', '.join(SECTIONS)}"))
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table(title="Parameters", caption=f"screened: one of the {len(screened)} assumed values of the two "
                  "shipped Morris screenings (docs/studies.md); start only: sets up the start, so a timeline step "
                  "cannot change it", show_lines=False)
    table.add_column("name", no_wrap=True)
    for col in ("meaning", "unit", "range", "default", "kind", "screened", "start only", "provenance"):
        table.add_column(col, overflow="fold")
    for r in rows:
        rng = "" if r["min"] is None and r["max"] is None else f"{r['min']} .. {r['max']}"
        table.add_row(r["name"], r["description"], r["unit"], rng, str(r["default"]), r["kind"],
                      "yes" if r["screened"] else "", "yes" if r["start_only"] else "", r["provenance"])
    out.print(table)


# Command groups that live with their subsystems register themselves here (one line each).
from northroute.experiments.commands import register as register_studies  # noqa: E402, I001
register_studies(app)
from northroute.dashboard.commands import register as register_dashboard  # noqa: E402, I001
register_dashboard(app)
from northroute.network import register as register_network  # noqa: E402, I001
register_network(app)
from northroute.calibration.command import register as register_calibrate  # noqa: E402, I001
register_calibrate(app)


class _Terminated:
    """Whether SIGTERM (a batch scheduler's stop, `timeout`, `kill`) ended the command: it is handled as Ctrl-C
    is, so what a command keeps or removes on Ctrl-C it keeps or removes then too, with exit code 143."""

    seen = False

    @classmethod
    def handle(cls, signum: int, frame: object) -> None:
        cls.seen = True
        raise KeyboardInterrupt


def _exit(code: int) -> None:
    if code == 130:  # an interrupt can land inside a half-built object (numba's compiler in llvmlite, CI of session
        sys.unraisablehook = _ignore  # 39): its finalizer's error at shutdown is noise after "interrupted"
    sys.exit(128 + signal.SIGTERM if code == 130 and _Terminated.seen else code)


def _ignore(unraisable: object) -> None:
    """An unraisable error (a finalizer's, at shutdown) after an interrupt: not shown."""


def main() -> None:
    """Entry point: the parser's usage errors become one line too; SIGTERM is handled as Ctrl-C."""
    signal.signal(signal.SIGTERM, _Terminated.handle)
    try:
        from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer >= 0.20 vendors click
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click.exceptions import NoArgsIsHelpError, UsageError
    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except UsageError as exc:
        sub = exc.ctx.info_name if exc.ctx and exc.ctx.parent is not None else ""  # the top level is named too
        hint = f" (see 'northroute {sub + ' ' if sub else ''}--help')" if exc.ctx else ""
        err.print(f"[bold red]error:[/] {escape(exc.format_message())}{hint}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        _exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        _exit(130)
    except BrokenPipeError:
        sys.exit(0)
    _exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
