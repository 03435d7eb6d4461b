"""The app's runs folder and the run manager: runs happen in a child process, never in the page script.

Everything the dashboard reads or writes lives under one root folder (default `./runs`):

    runs/<run-id>/             finished runs (as `northroute run` writes them)
    runs/.jobs/<job-id>/       one job: job.json (what to run), status.json (progress), log.txt
    runs/.uploads/             uploaded scenario files while they are being checked

A job is one or more (scenario, seed) runs done one after the other by `python -m
northroute.dashboard.worker JOB_DIR`. The worker writes its progress to status.json, so the page only
reads a small file on each refresh and never waits on the model; cancelling terminates the process.
Every path that comes from the page goes through `confine`, which refuses anything outside the root.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from northroute.results import MANIFEST

JOBS, UPLOADS = ".jobs", ".uploads"
ENV_RUNS = "NORTHROUTE_RUNS_DIR"
FINAL_STATES = ("done", "failed", "cancelled")


class PathError(ValueError):
    """A path from the page that points outside the app's runs folder (worded for the user)."""


def runs_root(default: str | Path = "runs") -> Path:
    """The app's runs folder: $NORTHROUTE_RUNS_DIR (set by `northroute dashboard --runs`) or ./runs."""
    root = Path(os.environ.get(ENV_RUNS) or default).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def confine(root: Path, rel: str | Path) -> Path:
    """Resolve `rel` under `root` and refuse it unless it stays inside (no absolute paths, no '..' escapes,
    no symlinks pointing out)."""
    root = Path(root).resolve()
    text = str(rel).strip()
    if not text or "\x00" in text:
        raise PathError("give the name of a folder inside the runs folder")
    if Path(text).is_absolute():
        raise PathError(f"'{text}' is not inside the runs folder: give a name relative to it")
    path = (root / text).resolve()
    if not path.is_relative_to(root):
        raise PathError(f"'{text}' is not inside the runs folder")
    return path


def is_run(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def find_runs(folder: Path, depth: int = 3) -> list[Path]:
    """Run folders at or below `folder` (a run, or a study folder holding runs), skipping hidden folders."""
    if is_run(folder):
        return [folder]
    found: list[Path] = []
    if depth <= 0 or not folder.is_dir():
        return found
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            found += find_runs(child, depth - 1)
    return found


def list_folders(root: Path) -> list[str]:
    """Runs and study folders directly under the root, newest first, as names relative to the root."""
    items = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and find_runs(p)]
    items.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.name for p in items]


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so that a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Task:
    """One run of a job: a resolved scenario (as JSON) and a seed, with a label for grouping (A or B)."""

    scenario: dict[str, Any]
    seed: int
    label: str = ""


@dataclass
class JobStatus:
    state: str  # starting | running | done | failed | cancelled
    done: int = 0  # weeks simulated over all tasks so far
    total: int = 1
    task: int = 0
    n_tasks: int = 1
    message: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)  # {"label", "seed", "run": name under the root}

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


class RunManager:
    """Starts, watches and cancels jobs under the runs folder. Keeps no state that the files do not have,
    so a page reload (a new session) can pick a running job up again."""

    _procs: dict[str, subprocess.Popen] = {}  # shared by all sessions of one server: job id -> process

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        (self.root / JOBS).mkdir(parents=True, exist_ok=True)

    def job_dir(self, job_id: str) -> Path:
        path = confine(self.root / JOBS, job_id)
        if path.parent != (self.root / JOBS).resolve():
            raise PathError(f"unknown job '{job_id}'")
        return path

    def start(self, tasks: list[Task], report: bool = True, kind: str = "run") -> str:
        """Write the job file and start the worker process; returns the job id at once. `kind` ("run" or
        "compare") says which page its results open on, also after a reload."""
        from northroute.scenario import Scenario

        if not tasks:
            raise ValueError("a job needs at least one run")
        total = 0
        for t in tasks:
            scen = Scenario.model_validate(t.scenario)  # refuse a bad scenario here, not in the child
            total += scen.weeks + scen.time.burn_in_weeks
        job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        folder = self.root / JOBS / job_id
        folder.mkdir(parents=True)
        write_json(folder / "job.json", {"tasks": [t.__dict__ for t in tasks], "report": report,
                                         "runs_dir": str(self.root), "total": total, "kind": kind})
        write_json(folder / "status.json", {"state": "starting", "done": 0, "total": total, "task": 0,
                                            "n_tasks": len(tasks), "message": "starting", "runs": []})
        log = (folder / "log.txt").open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "-m", "northroute.dashboard.worker", str(folder)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=self.root,
                                start_new_session=True)
        log.close()
        write_json(folder / "pid.json", {"pid": proc.pid})
        self._procs[job_id] = proc
        return job_id

    def kind(self, job_id: str) -> str:
        """"run" or "compare", as the job was started."""
        return (read_json(self.job_dir(job_id) / "job.json") or {}).get("kind", "run")

    def status(self, job_id: str) -> JobStatus:
        """What status.json says, corrected when the worker died without saying so."""
        self._reap()
        folder = self.job_dir(job_id)
        data = read_json(folder / "status.json") or {"state": "starting"}
        st = JobStatus(**{k: v for k, v in data.items() if k in JobStatus.__dataclass_fields__})
        if not st.finished and not self._alive(job_id):
            data = read_json(folder / "status.json") or {}  # it may have finished between the two reads
            if data.get("state") in FINAL_STATES:
                return JobStatus(**{k: v for k, v in data.items() if k in JobStatus.__dataclass_fields__})
            st.state, st.message = "failed", self._last_log_line(folder) or "the run process stopped unexpectedly"
        return st

    def cancel(self, job_id: str) -> None:
        """Terminate the worker, remove any half-written run folder and mark the job cancelled."""
        folder = self.job_dir(job_id)
        pid = self._pid(job_id)
        proc = self._procs.get(job_id)
        if pid is not None and self._alive(job_id):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
            if proc is not None:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        if pid is not None:
            for tmp in self.root.glob(f".tmp-*-{pid}-*"):  # Results.save's temporary folders
                shutil.rmtree(tmp, ignore_errors=True)
        data = read_json(folder / "status.json") or {}
        if data.get("state") not in ("done", "failed"):
            data.update(state="cancelled", message="cancelled: the runs finished before it are kept")
            write_json(folder / "status.json", data)

    def latest_active(self) -> str | None:
        """The newest job that is still running (to re-attach a reloaded page)."""
        jobs = sorted((p.name for p in (self.root / JOBS).iterdir() if p.is_dir()), reverse=True)
        for job_id in jobs:
            if not self.status(job_id).finished:
                return job_id
        return None

    def _reap(self) -> None:
        """Collect the exit of finished workers (else each stays a zombie until the server exits); a job whose
        process was collected is then judged by its pid, like one started by an earlier server."""
        for job_id, proc in list(self._procs.items()):
            if proc.poll() is not None:
                del self._procs[job_id]

    def _pid(self, job_id: str) -> int | None:
        data = read_json(self.job_dir(job_id) / "pid.json")
        return int(data["pid"]) if data and "pid" in data else None

    def _alive(self, job_id: str) -> bool:
        proc = self._procs.get(job_id)
        if proc is not None:
            return proc.poll() is None
        pid = self._pid(job_id)
        if pid is None:
            return False
        # Started by an earlier server process: trust the pid only if it is still this job's worker.
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return b"northroute.dashboard.worker" in cmd and str(self.job_dir(job_id)).encode() in cmd

    @staticmethod
    def _last_log_line(folder: Path) -> str:
        try:
            lines = (folder / "log.txt").read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:300] if lines else ""
