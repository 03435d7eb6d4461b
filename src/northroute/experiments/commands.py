"""Command line for studies: `sweep`, `sensitivity`, `query` and `study`, registered on the main app.

Errors follow `northroute run`: one line and exit code 2 for bad input, with nothing written. A study
with failed runs finishes, reports them, and exits with 1; Ctrl-C exits with 130, keeping every
finished run; the same command resumes.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
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
from rich.text import Text

if TYPE_CHECKING:
    from northroute.experiments.study import Plan

StudyDir = Annotated[Path, typer.Option("--study", help="Study folder (created, or resumed if it holds this study).")]
Seeds = Annotated[int, typer.Option(help="Seeds per design point: 0..N-1 at every point (common random numbers).")]
Years = Annotated[float | None, typer.Option(help="Years to simulate per run (overrides time.years).")]
Scale = Annotated[float | None, typer.Option(help="Share of the national population as agent rows, per run.")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="Override a base parameter: section.field=value, or "
                                                            "section.field@YYYY-MM-DD=value for a timeline step.")]
Workers = Annotated[int | None, typer.Option(help="Local worker processes (default: one per CPU core).")]
Scheduler = Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://HOST:8786 (default: local "
                                                    "process pool).")]
Timeout = Annotated[float, typer.Option("--scheduler-timeout", help="Seconds to wait for the Dask scheduler.")]
OutputOpt = Annotated[str, typer.Option("--output", help="Output for the replicate check plot.")]
Tolerance = Annotated[float, typer.Option(help="Relative tolerance of the replicate check.")]
Report = Annotated[bool, typer.Option(help="Write report.html into the study folder at the end.")]
Quiet = Annotated[bool, typer.Option(help="No progress bar.")]
FromYear = Annotated[int | None, typer.Option(help="Read the outputs from 1 January of this year to the end of each "
                                                   "run (default: the whole run), so a policy that starts late is "
                                                   "not diluted; the distances and price_peak_rise read the whole "
                                                   "run.")]
VIEWS = {"design", "runs", "outputs", "timeseries", "events", "sensitivity", "replicates"}


def _cli():
    """northroute.cli, imported late: cli.py imports this module while it is being built."""
    from northroute import cli

    return cli


class RunsPerMinute(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed * 60:,.1f} runs/min" if speed else "… runs/min", style="progress.data.speed")


def _check_common(output: str, tolerance: float) -> None:
    from northroute.experiments.outputs import NAMES

    if output not in NAMES:
        raise _cli().UsageError(f"--output must be one of {', '.join(NAMES)}, got '{output}'")
    if not 0 < tolerance < 1:
        raise _cli().UsageError(f"--tolerance must be between 0 and 1, got {tolerance}")


def _overrides(years: float | None, scale: float | None, sets: list[str] | None) -> list[str]:
    out = list(sets or [])
    if years is not None:
        out.append(f"time.years={years}")
    if scale is not None:
        out.append(f"population.scale={scale}")
    return out


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _command() -> str:
    return shlex.join(["northroute", *sys.argv[1:]])


def _run(plan_fn, study_dir: Path, workers: int | None, scheduler: str | None, timeout: float, output: str,
         tolerance: float, report: bool, quiet: bool, sets: list[str] | None) -> None:
    """Plan, check, run with a progress bar, then analyse and report: shared by sweep and sensitivity."""
    from northroute.experiments.sensitivity import few_samples
    from northroute.experiments.store import StudyError
    from northroute.experiments.study import (
        late_steps,
        many_lots,
        price_spirals,
        run_study,
        short_period,
        with_dated,
    )
    from northroute.scenario import ScenarioError, changed_later, set_keys

    cli = _cli()
    try:
        _check_common(output, tolerance)
        plan: Plan = plan_fn()
    except (ScenarioError, cli.UsageError) as exc:
        cli._fail(str(exc))
    few = few_samples(plan.design)
    cli.warn(changed_later(with_dated(plan.scenario, plan.design), [*set_keys(sets or []), *plan.design.params])
             + late_steps(plan) + short_period(plan)
             + many_lots(plan) + ([few] if few else []))
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("runs, {task.fields[failed]} failed"), RunsPerMinute(), TimeElapsedColumn(),
                        TextColumn("left"), TimeRemainingColumn(), console=cli.err,
                        disable=quiet or not cli.err.is_terminal)  # a log gets the lines of `log_runs` instead
    state = {"task": None, "failed": 0, "study": None}
    log = cli.log_lines(quiet)

    def on_start(study, todo: int, executor: str) -> None:
        state["study"] = study
        total, done = len(study.all_runs()), len(study.all_runs()) - todo
        cli.err.print(f"study {study.path}: {_count(total, 'run')} ({_count(study.info['points'], 'point')} x "
                      f"{_count(len(study.seeds), 'seed')}); {done:,} done already, {todo:,} to run on {executor}",
                      highlight=False, soft_wrap=True)
        progress.start()
        state["task"] = progress.add_task(study.info["kind"], total=total, completed=done, failed=0)

    def on_outcome(out: dict) -> None:
        if out["status"] == "failed":
            state["failed"] += 1
            progress.console.print(f"[red]run {out['run_id']} failed:[/] {out.get('error')}", highlight=False,
                                   soft_wrap=True)
        progress.update(state["task"], advance=1, failed=state["failed"])
        task = progress.tasks[0]
        cli.log_runs(log, int(task.completed), int(task.total), state["failed"])

    t0 = time.perf_counter()
    try:
        study, session = run_study(plan, study_dir, workers, scheduler, timeout, on_start=on_start,
                                   on_outcome=on_outcome)
    except StudyError as exc:
        progress.stop()
        cli._fail(str(exc))
    except OSError as exc:  # the study folder became unwritable (disk full, permissions) while running
        progress.stop()
        cli._fail(f"cannot write to study folder {study_dir}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        progress.stop()
        study = state["study"]
        kept = study.info.get("status", {}).get("done", 0) if study else 0
        cli.err.print(f"interrupted: {kept:,} finished runs are kept; run the same command to resume",
                      highlight=False)
        raise typer.Exit(130) from None
    progress.stop()
    spirals = price_spirals(_analyse(study, output, tolerance, report).get("outputs"))
    st = study.info["status"]
    cli.out.print(f"{study.path}: {st['done']:,} of {st['runs']:,} runs done, {st['failed']:,} failed "
                  f"(this session: {session['done'] + session['failed']:,} runs in "
                  f"{time.perf_counter() - t0:,.1f} s, {session['runs_per_minute']:,.1f} runs/min on "
                  f"{session['executor']})", highlight=False, soft_wrap=True)
    cli.warn([spirals] if spirals else [])
    if st["failed"]:
        cli.err.print(f"{st['failed']:,} runs failed (errors in study.json and log.jsonl); run the same command "
                      "to retry them", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _analyse(study, output: str, tolerance: float, report: bool = True) -> dict:
    """Indices, replicate check, views and (optionally) the report; a failure here never loses the runs, and
    a run file that cannot be read (StudyError) ends the command with one line saying how to mend it."""
    from northroute.experiments.report import write_study_report
    from northroute.experiments.sensitivity import write_analysis
    from northroute.experiments.store import StudyError

    cli = _cli()
    try:
        analysis = write_analysis(study, tolerance)
        study.write_db()
        if report:
            cli.err.print(f"report: {write_study_report(study, output, tolerance, analysis)}", highlight=False,
                          soft_wrap=True)
        return analysis
    except StudyError as exc:
        cli._fail(str(exc))
    except Exception as exc:  # the runs are safe on disk; say what went wrong and carry on
        cli.err.print(f"[yellow]warning:[/] the analysis or report could not be written: {type(exc).__name__}: "
                      f"{' '.join(str(exc).split())}", highlight=False, soft_wrap=True)
        return {}


def sweep(
    study: StudyDir,
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a TOML file.")] = "baseline-2012",
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", help="section.field=start:stop:step (stop included) or section.field=a,b,c; several --vary make "
                       "a full grid; section.field@YYYY-MM-DD varies what the timeline step of that date sets.",
    )] = None,
    seeds: Seeds = 1,
    years: Years = None,
    scale: Scale = None,
    set_: Sets = None,
    from_year: FromYear = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    scheduler_timeout: Timeout = 10.0,
    output: OutputOpt = "heroin_retail_price",
    tolerance: Tolerance = 0.05,
    report: Report = True,
    quiet: Quiet = False,
) -> None:
    """Run a grid of parameter values x seeds into a study folder (resumable)."""
    from northroute.experiments.study import plan_sweep

    _run(lambda: plan_sweep(scenario, vary or [], seeds, _overrides(years, scale, set_), _command(), from_year), study,
         workers, scheduler, scheduler_timeout, output, tolerance, report, quiet, set_)


def sensitivity(
    study: StudyDir,
    params: Annotated[Path, typer.Option("--params", help="Parameter ranges: TOML (\"section.field\" = [min, max]) "
                                                          "or SALib's 'name min max' lines; a name may carry a "
                                                          "timeline step's date, section.field@YYYY-MM-DD.")],
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a TOML file.")] = "baseline-2012",
    method: Annotated[str, typer.Option(help="morris or sobol.")] = "morris",
    n: Annotated[int, typer.Option("--n", help="Morris: trajectories (N*(D+1) points); Sobol: base sample "
                                               "(N*(D+2) points, a power of 2).")] = 16,
    levels: Annotated[int, typer.Option(help="Morris grid levels (even).")] = 4,
    sample_seed: Annotated[int, typer.Option(help="Seed of the SALib sample (not of the runs).")] = 0,
    seeds: Seeds = 1,
    years: Years = None,
    scale: Scale = None,
    set_: Sets = None,
    from_year: FromYear = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    scheduler_timeout: Timeout = 10.0,
    output: OutputOpt = "heroin_retail_price",
    tolerance: Tolerance = 0.05,
    report: Report = True,
    quiet: Quiet = False,
) -> None:
    """Morris or Sobol global sensitivity analysis of the run outputs (SALib), into a study folder (resumable)."""
    from northroute.experiments.study import plan_sensitivity

    _run(lambda: plan_sensitivity(scenario, method, params, n, seeds, levels, sample_seed,
                                  _overrides(years, scale, set_), _command(), from_year),
         study, workers, scheduler, scheduler_timeout, output, tolerance, report, quiet, set_)


def query(
    study: Annotated[Path, typer.Argument(help="Study folder.")],
    sql: Annotated[str, typer.Argument(help="SQL over the views design, runs, outputs, timeseries, events, "
                                            "sensitivity, replicates.")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json (one object per row).")] = "table",
) -> None:
    """Run SQL (DuckDB) over a study's design, runs and outputs."""
    import duckdb
    import numpy as np

    from northroute.experiments.store import Study, StudyError, duckdb_line

    cli = _cli()
    if fmt not in ("table", "csv", "json"):
        cli._fail(f"--format must be table, csv or json, got '{fmt}'")
    try:
        names = {w.lower() for w in re.findall(r"[A-Za-z_]+", sql)}
        opened = Study.open(study)
        views = opened.views()
        if names & VIEWS - set(views):
            cli._fail(f"this study has no {', '.join(sorted(names & VIEWS - set(views)))} view (it has "
                      f"{', '.join(views)})")
        con = opened.connect(only=names & VIEWS)  # build only the views the query names
        con.execute("SET python_enable_replacements = false")  # names are views, never this program's variables
        result = con.execute(sql)
        if result is None:  # DuckDB returns no result for an empty statement
            raise StudyError("no SQL statement given")
        frame = result.df()
    except StudyError as exc:
        cli._fail(str(exc))
    except duckdb.Error as exc:
        cli._fail(duckdb_line(exc))
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        frame = frame.replace([np.inf, -np.inf], np.nan)  # a missing or infinite value is null: neither is JSON
        for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
            print(json.dumps(row, default=str, allow_nan=False))
    else:
        table = Table(show_lines=False)
        for col in frame.columns:
            table.add_column(str(col), overflow="fold")
        for row in frame.itertuples(index=False):  # floats to 6 significant digits here; csv and json keep all
            table.add_row(*("" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))
        cli.out.print(table)


def study(
    path: Annotated[Path, typer.Argument(help="Study folder.")],
    output: OutputOpt = "heroin_retail_price",
    tolerance: Tolerance = 0.05,
) -> None:
    """Show a study's progress, sensitivity indices and replicate check; rewrite its report (if not running)."""
    from northroute.experiments import sensitivity as sa
    from northroute.experiments.store import Study, StudyError, is_locked, reads_from

    cli = _cli()
    try:
        _check_common(output, tolerance)
        st = Study.open(path)
    except (StudyError, cli.UsageError) as exc:
        cli._fail(str(exc))
    running = is_locked(st.path)
    table = st.status_table()
    counts = table["status"].value_counts()
    cli.out.print(f"[bold]{st.info['kind']}[/] of {st.info.get('scenario_name')} in {st.path}: "
                  f"{_count(st.info['points'], 'point')} x {_count(len(st.seeds), 'seed')}; "
                  f"{counts.get('done', 0):,} done, "
                  f"{counts.get('failed', 0):,} failed, {counts.get('pending', 0):,} pending"
                  f"{' (running now)' if running else ''}; outputs read {reads_from(st.from_year)}", highlight=False,
                  soft_wrap=True)
    for row in table[table["status"] == "failed"].head(20).itertuples():
        cli.out.print(f"  [red]failed[/] {row.run_id}: {row.error}", highlight=False, soft_wrap=True)
    if running:
        try:
            analysis = {"outputs": st.outputs()}
        except StudyError as exc:
            cli._fail(str(exc))
        analysis["replicates"] = sa.replicate_check(analysis["outputs"], tolerance)
        if st.design.method in sa.INDEX_COLUMNS:
            analysis["sensitivity"] = sa.analyze(st, analysis["outputs"])
    else:  # nobody holds the lock: a study still marked running lost its driver (killed), so it was interrupted
        st.refresh(state="interrupted" if st.info["status"].get("state") == "running" else None, db=False)
        analysis = _analyse(st, output, tolerance)  # rebuilds study.duckdb too
    if "sensitivity" in analysis:
        from northroute.experiments.outputs import by_name

        table = analysis["sensitivity"].drop(columns=["method"])
        table.insert(1, "unit", table["output"].map(lambda name: by_name(name).unit))
        _print_frame(table, "Sensitivity indices", "in the output's unit per whole range of the parameter (Morris) or "
                     "shares of its variance (Sobol); *_conf: half-width of the 95% bootstrap interval")
    if "replicates" in analysis:
        _print_frame(sa.replicate_summary(analysis["replicates"]), f"Replicate check (tolerance {tolerance:.0%})")


def _print_frame(frame, title: str, caption: str | None = None) -> None:
    table = Table(title=title, caption=caption)
    for col in frame.columns:
        table.add_column(str(col), justify="left" if frame[col].dtype == object else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else "" if v is None else str(v) for v in row))
    _cli().out.print(table)


def register(app: typer.Typer) -> None:
    """Add the study commands to the main `northroute` app."""
    for fn in (sweep, sensitivity, query, study):
        app.command()(fn)
