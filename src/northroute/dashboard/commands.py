"""CLI commands of the dashboard subsystem: `northroute dashboard` and `northroute report`.

`cli.py` calls `register(app)` once; everything else about these commands lives here.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _fail(message: str) -> None:
    from northroute.cli import _fail as fail

    fail(message)


def _check_address(host: str, port: int) -> None:
    """Bind HOST:PORT once, as the server will: streamlit itself fails on a host that does not resolve, or is
    not this machine's, only after the address is printed and with a traceback. Raises UsageError."""
    from northroute.cli import UsageError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise UsageError(f"--host {host} is not a known address or host name ({exc.strerror})") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: a closed port is free
        try:
            sock.bind(address)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None


def dashboard(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to bind; the default keeps it on this machine.")] = "127.0.0.1",
    runs: Annotated[Path, typer.Option("--runs", help="The app's runs folder: every file it reads or writes.")] = Path(
        "runs"),
) -> None:
    """Start the dashboard (a streamlit app) on http://HOST:PORT."""
    from northroute.cli import UsageError, _writable, err

    if not 1 <= port <= 65535:
        _fail(f"--port must be between 1 and 65535, got {port}")
    try:
        _check_address(host, port)
        _writable(runs)
    except UsageError as exc:
        _fail(str(exc))
    if host not in LOOPBACK:
        err.print(f"[bold yellow]warning:[/] binding to {host}: anyone who can reach this machine can use the "
                  "dashboard and start runs on it", highlight=False)
    app_file = Path(__file__).with_name("app.py")
    args = [sys.executable, "-m", "streamlit", "run", str(app_file),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--browser.serverAddress", host,
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--client.toolbarMode", "minimal", "--global.developmentMode", "false",
            "--server.maxUploadSize", "1", "--client.showErrorDetails", "type"]
    env = dict(os.environ, NORTHROUTE_RUNS_DIR=str(runs.resolve()), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    err.print(f"dashboard on http://{host}:{port} (runs folder {runs.resolve()}); Ctrl-C stops it", highlight=False)
    os.execve(sys.executable, args, env)  # the app replaces this process: signals reach streamlit directly


def _group(folder: Path) -> list:
    """The runs in a run folder, or in a folder of runs (e.g. several seeds), loaded."""
    from northroute.dashboard.runs import find_runs
    from northroute.results import Results
    from northroute.scenario import not_found

    if not folder.is_dir():
        _fail(not_found(folder, "run folder"))
    runs = find_runs(folder.resolve())
    if not runs:
        _fail(f"{folder} is not a run folder (no manifest.json in it or below it)")
    loaded = []
    for path in runs:
        try:
            loaded.append(Results.load(path))
        except (OSError, ValueError) as exc:  # RunFileError names the file
            _fail(f"cannot read the run in {folder / path.relative_to(folder.resolve())}: {exc}")
    return loaded


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (runs/<run-id>).")],
    run_dir2: Annotated[Path | None, typer.Argument(help="A second run folder: write a comparison of the two.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="HTML file to write, ending in .html (default: "
                                             "RUN_DIR/report.html, or comparison-A-vs-B.html here for two runs).")]
    = None,
) -> None:
    """Write one self-contained HTML report of a run, or a comparison of two (a folder of runs pools its seeds)."""
    from northroute.cli import check_out_suffix

    check_out_suffix(out, ".html")
    a = _group(run_dir)
    try:
        if run_dir2 is None:
            if len(a) > 1:
                _fail(f"{run_dir} holds {len(a)} runs: give one run folder, or two folders to compare")
            from northroute.report import write_report

            path = write_report(a[0], out or run_dir / "report.html")
        else:
            from northroute.cli import err
            from northroute.report.compare import comparison_warnings, write_comparison

            b = _group(run_dir2)
            for warning in comparison_warnings(a, b):
                err.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
            path = write_comparison(a, b, out or Path(f"comparison-{run_dir.name}-vs-{run_dir2.name}.html"))
    except OSError as exc:
        _fail(f"cannot write the report: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(str(exc))
    print(path)


def register(app: typer.Typer) -> None:
    """Add `dashboard` and `report` to the northroute command line."""
    app.command()(dashboard)
    app.command()(report)
