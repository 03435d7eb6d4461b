"""Command line: `northroute run`, `northroute scenarios`, `northroute params`.

Bad input of any kind (unknown scenario, bad TOML, unknown parameter, value out of range,
unwritable output folder) ends with exit code 2 and one line naming the problem; nothing is
written until the run has finished, and then the run folder appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from northroute.scenario import Scenario, ScenarioError, builtin_names, load_scenario, param_table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Agent-based simulator of the drug trade and police corruption on Kazakhstan's Northern Route.")
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class UsageError(Exception):
    """A user mistake reported as one line with exit code 2."""


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _resolve(scenario: str, seed: int, years: float | None, scale: float | None, sets: list[str]) -> Scenario:
    if seed < 0:
        raise ScenarioError(f"--seed must be 0 or more, got {seed}")
    overrides = list(sets)
    if years is not None:
        overrides.append(f"time.years={years}")
    if scale is not None:
        overrides.append(f"population.scale={scale}")
    return load_scenario(scenario, overrides)


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {folder}: {exc.strerror or exc}") from None


def run_id(scen: Scenario, seed: int, folder: Path) -> str:
    """Readable and reproducible: scenario name, seed and a hash of the resolved scenario."""
    digest = hashlib.sha256(json.dumps([scen.model_dump(mode="json"), seed], sort_keys=True).encode())
    base = f"{scen.name}-s{seed}-{digest.hexdigest()[:8]}"
    rid, k = base, 1
    while (folder / rid).exists():
        k += 1
        rid = f"{base}-{k}"
    return rid


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a TOML file.")] = "baseline-2012",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    years: Annotated[float | None, typer.Option(help="Years to simulate (overrides time.years).")] = None,
    scale: Annotated[float | None, typer.Option(help="Share of the national population as agent rows.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a parameter: section.field=value.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder that receives the run folder.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (its run_dir names the run).")] = False,
    report: Annotated[bool, typer.Option(help="Write report.html into the run folder.")] = True,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Run one scenario, write runs/<run-id>/ and print a summary."""
    from northroute import run as run_model
    from northroute.results import summarize

    try:
        scen = _resolve(scenario, seed, years, scale, set_ or [])
        _writable(out_dir)
    except (ScenarioError, UsageError) as exc:
        _fail(str(exc))
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total} weeks"), TimeElapsedColumn(), TimeRemainingColumn(),
                        console=err, disable=quiet, transient=True)
    try:
        with progress:
            task = progress.add_task(f"{scen.name} seed {seed}", total=scen.weeks + scen.time.burn_in_weeks)
            results = run_model(scen, seed, progress=lambda done, total: progress.update(task, completed=done))
    except ScenarioError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted: nothing was written")
        raise typer.Exit(130) from None

    def write_report(folder: Path) -> None:
        if report:
            from northroute.report import write_report as write

            write(results, folder / "report.html")

    try:
        results.save(out_dir, run_id(scen, seed, out_dir), extra=write_report)
    except OSError as exc:
        _fail(f"cannot write the run folder in {out_dir}: {exc.strerror or exc}")
    summary = summarize(results)
    if as_json:
        print(json.dumps(summary, default=float))
    else:
        _print_summary(summary)


def _print_summary(s: dict) -> None:
    out.print(f"[bold]{s['scenario']}[/] seed {s['seed']}: {s['weeks']} weeks at scale {s['scale']} "
              f"in {s['wall_time_s']:.1f} s ({s['agent_steps_per_s'] / 1e6:.2f} M agent-steps/s)")
    flows = Table(title="Flows by route (kg over the run, simulated rows)")
    for col in ("route", "substance", "bought at source", "entered KZ", "seized", "to Russia"):
        flows.add_column(col, justify="right" if col not in ("route", "substance") else "left")
    for r in s["routes"]:
        flows.add_row(r["route"], r["substance"], *(f"{r[k]:,.0f}" for k in ("entered_kg", "flow_kg", "seized_kg",
                                                                             "exported_kg")))
    out.print(flows)
    subs = Table(title="By substance")
    subs.caption = "prices: national mean over the first year vs the 2012 average of Table 5.6 (KZT/g)"
    cols = ("substance", "seized kg", "consumed kg", "wholesale", "T5.6", "retail", "T5.6 ", "users", "retail dealers",
            "wholesalers")
    for col in cols:
        subs.add_column(col, justify="left" if col == "substance" else "right")
    for r in s["substances"]:
        subs.add_row(r["substance"], f"{r['seized_kg']:,.0f}", f"{r['consumed_kg']:,.0f}",
                     f"{r['wholesale_price_first_year']:,.0f}", f"{r['wholesale_price_2012_table']:,.0f}",
                     f"{r['retail_price_first_year']:,.0f}", f"{r['retail_price_2012_table']:,.0f}",
                     f"{r['users_end']:,.0f}", f"{r['retail_dealers_end']:,.0f}", f"{r['wholesalers_end']:,.0f}")
    out.print(subs)
    out.print(f"run folder: {s['run_dir']}")


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
    """List every parameter with unit, range, default and provenance."""
    rows = [r for r in param_table() if section is None or r["name"].startswith(f"{section}.")]
    if not rows:
        _fail(f"no parameters in section '{section}'")
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table(title="Parameters", show_lines=False)
    for col in ("name", "unit", "range", "default", "provenance"):
        table.add_column(col, overflow="fold")
    for r in rows:
        rng = "" if r["min"] is None and r["max"] is None else f"{r['min']} .. {r['max']}"
        table.add_row(r["name"], r["unit"], rng, str(r["default"]), r["provenance"])
    out.print(table)


# Command groups that live with their subsystems register themselves here (one line each).
from northroute.experiments.commands import register as register_studies  # noqa: E402, I001
register_studies(app)
from northroute.dashboard.commands import register as register_dashboard  # noqa: E402, I001
register_dashboard(app)
from northroute.network import register as register_network  # noqa: E402, I001
register_network(app)


def main() -> None:
    """Entry point: the parser's usage errors become one line too."""
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
        hint = f" (see 'northroute {exc.ctx.info_name} --help')" if exc.ctx else ""
        err.print(f"[bold red]error:[/] {exc.format_message()}{hint}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
