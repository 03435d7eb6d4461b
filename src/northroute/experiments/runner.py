"""Running a study's runs on a local process pool or a Dask cluster, and resuming it.

One run is one task (`run_one`): the worker builds the scenario (base scenario of the study plus the
design point's values), runs it with the run's seed, computes the scalar outputs and writes the run
folder atomically with `Results.save`. A run that raises is returned as a failure (with its error),
never raised, so one bad run does not stop a study. The driver (`execute`) submits the runs whose
folder is not complete, logs every outcome, and on Ctrl-C stops the workers; finished runs stay.

Executors are existing engines: `concurrent.futures.ProcessPoolExecutor` (forkserver workers) on this
machine, `distributed.Client` for a Dask cluster. With Dask the study folder must be reachable at the
same path from every worker (a shared file system, as on a SLURM cluster).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from northroute.experiments.store import OUTPUTS_FILE, RUNS_DIR, SCENARIO_FILE, Study, is_complete, now
from northroute.scenario import Scenario, apply_override

POOL_RESTARTS = 3  # a dead local worker breaks the pool; give up after this many breaks in a row without progress


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run; small, so that thousands can be queued."""

    study: str  # absolute path of the study folder
    run_id: str
    point: int
    seed: int
    overrides: tuple[tuple[str, Any], ...]
    from_year: int | None = None  # the study reads its outputs from 1 January of this year (`outputs.compute`)


Outcome = dict[str, Any]  # run_id, point, seed, status (done|failed|skipped), error, traceback, wall_time_s, ...
RunFn = Callable[[RunTask], Outcome]


def outcome(task: RunTask, status: str, started: float, error: BaseException | str | None = None) -> Outcome:
    out: Outcome = {"run_id": task.run_id, "point": task.point, "seed": task.seed, "status": status,
                    "wall_time_s": round(time.perf_counter() - started, 4),
                    "worker": f"{socket.gethostname()}:{os.getpid()}", "time": now()}
    if error is not None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        out["error"] = " ".join(text.split())[:500]
        if isinstance(error, BaseException):
            out["traceback"] = "".join(traceback.format_exception(error))
    return out


@lru_cache(maxsize=8)
def _base(path: str, stamp: tuple[int, int]) -> Scenario:
    import json

    return Scenario.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def base_scenario(study: str) -> Scenario:
    """The study's resolved base scenario (read once per worker process, then copied)."""
    path = Path(study) / SCENARIO_FILE
    st = path.stat()
    return _base(str(path), (st.st_mtime_ns, st.st_size)).model_copy(deep=True)


def run_one(task: RunTask) -> Outcome:
    """Run one (point, seed) and write its folder; a failure comes back as an outcome, not an exception."""
    from northroute import run as run_model
    from northroute.experiments.outputs import compute

    started = time.perf_counter()
    runs_dir = Path(task.study) / RUNS_DIR
    if is_complete(runs_dir / task.run_id):  # a duplicate of this task already finished it
        return outcome(task, "skipped", started)
    try:
        scen = base_scenario(task.study)
        for name, value in task.overrides:
            scen = apply_override(scen, name, value)
        results = run_model(scen, task.seed)
        row = pd.DataFrame([{"run_id": task.run_id, "point": task.point, "seed": task.seed,
                             **compute(results.timeseries, results.manifest, task.from_year)}])
        results.save(runs_dir, task.run_id, extra=lambda folder: row.to_parquet(folder / OUTPUTS_FILE, index=False))
    except Exception as exc:
        if is_complete(runs_dir / task.run_id):  # lost a race with a duplicate: the run is there, once
            return outcome(task, "skipped", started)
        return outcome(task, "failed", started, exc)
    return outcome(task, "done", started)


# ------------------------------------------------------------------------------------------ executors


class Executor(Protocol):
    description: str

    def run(self, tasks: list[RunTask], fn: RunFn) -> Iterator[Outcome]:
        """Outcomes in the order runs finish; closing the iterator stops outstanding work."""
        ...

    def close(self) -> None: ...


def _init_local_worker(driver: int, driver_started: float) -> None:
    """Workers leave Ctrl-C to the driver, and exit when the driver is gone (killed, not just stopped).

    The driver is watched by pid and start time (a zombie driver counts as gone). Its forkserver is not a
    usable sign: every worker holds the forkserver's 'alive' pipe, so the forkserver outlives the driver."""
    import psutil

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def gone() -> bool:
        try:
            proc = psutil.Process(driver)
            return proc.create_time() != driver_started or proc.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            return True

    def watch() -> None:
        while not gone():
            time.sleep(0.25)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="northroute-driver-watch").start()


def _pool_context() -> multiprocessing.context.BaseContext:
    """forkserver: workers are forked from a server that imported northroute once, not from the driver (which
    has a progress-bar thread and perhaps a Dask client); spawn where there is no forkserver."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["northroute.experiments.runner", "northroute.sim"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX


def _driver_identity() -> tuple[int, float]:
    import psutil

    return os.getpid(), psutil.Process().create_time()


class LocalPool:
    """A process pool on this machine, one run per worker at a time."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.description = f"{self.workers} local worker{'s' if self.workers > 1 else ''}"

    def run(self, tasks: list[RunTask], fn: RunFn) -> Iterator[Outcome]:
        pending = {t.run_id: t for t in tasks}
        fruitless = 0  # pools in a row that broke before finishing any run
        while pending:
            pool = ProcessPoolExecutor(min(self.workers, len(pending)), mp_context=_pool_context(),
                                       initializer=_init_local_worker, initargs=_driver_identity())
            broken, finished = False, 0
            try:
                futures = {pool.submit(fn, t): t for t in pending.values()}
                for fut in as_completed(futures):  # O(runs) overall, unlike repeated wait() calls
                    task = futures[fut]
                    try:
                        out = fut.result()
                    except BrokenProcessPool:  # a worker died (killed, out of memory): runs in flight are lost
                        broken = True
                        continue
                    except Exception as exc:  # e.g. the result could not be sent back
                        out = outcome(task, "failed", time.perf_counter(), exc)
                    pending.pop(task.run_id, None)
                    finished += 1
                    yield out
            finally:
                _stop_pool(pool)
            if not broken:
                return
            fruitless = 0 if finished else fruitless + 1
            if fruitless > POOL_RESTARTS:
                for task in list(pending.values()):
                    pending.pop(task.run_id)
                    yield outcome(task, "failed", time.perf_counter(),
                                  f"WorkerDied: worker processes died {fruitless} times in a row before any run "
                                  "finished (out of memory? try fewer --workers)")

    def close(self) -> None:
        pass


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued runs and end the workers now (a Ctrl-C should not wait for runs in flight)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(5)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
MMAP_THRESHOLD = 32 * 2**20  # glibc's own ceiling for its dynamic mmap threshold (64-bit)


def restore_malloc() -> bool:
    """Undo the Dask nanny's MALLOC_TRIM_THRESHOLD_=65536 in this process (glibc only; True if done).

    Setting that variable switches off glibc's dynamic mmap threshold, so every array above 128 KiB is
    mmapped and unmapped again: the model's numpy temporaries then cost page faults (0.3 s of system time
    on a 1.6 s run at scale 0.1), and runs took up to 45% longer on two Dask workers than in the local
    pool. These are the values glibc itself settles at; results do not depend on them."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                    and libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD))
    except (OSError, AttributeError):  # not glibc: nothing to undo
        return False


def _dask_worker_plugin():
    from distributed.diagnostics.plugin import WorkerPlugin

    class MallocPlugin(WorkerPlugin):
        """Applied by the scheduler to every worker, present and future (whoever started them)."""

        idempotent = True

        def setup(self, worker) -> None:
            restore_malloc()

    return MallocPlugin()


class DaskCluster:
    """A Dask distributed scheduler: the same runs, sent as tasks; Dask reschedules a dead worker's runs."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        from distributed import Client

        self.address = address
        self.client = Client(address, timeout=f"{timeout}s", set_as_default=False)
        with contextlib.suppress(Exception):  # a speed-up only: a worker that cannot take it still runs the study
            self.client.register_plugin(_dask_worker_plugin(), name="northroute-malloc")
        n = len(self.client.scheduler_info().get("workers", {}))
        self.description = f"Dask scheduler {address} ({n} worker{'s' if n != 1 else ''} now)"

    def run(self, tasks: list[RunTask], fn: RunFn) -> Iterator[Outcome]:
        from distributed import as_completed

        if not tasks:
            return
        nonce = uuid.uuid4().hex[:8]
        futures = self.client.map(fn, tasks, key=[f"northroute-{t.run_id}-{nonce}" for t in tasks], pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        try:
            for fut in as_completed(futures, loop=self.client.loop):
                task = by_key[fut.key]
                try:
                    out = fut.result()
                except Exception as exc:  # KilledWorker after repeated worker deaths, unpicklable result, ...
                    out = outcome(task, "failed", time.perf_counter(), exc)
                fut.release()
                yield out
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)


def make_executor(workers: int | None = None, scheduler: str | None = None, timeout: float = 10.0) -> Executor:
    """A local pool, or a Dask client when a scheduler address is given (raises OSError if unreachable)."""
    if scheduler:
        return DaskCluster(scheduler, timeout)
    return LocalPool(workers)


# ------------------------------------------------------------------------------------------ a session


def tasks_to_run(study: Study) -> list[RunTask]:
    """The runs whose folder is not complete, point by point (a point's seeds together)."""
    done = study.done()
    tasks = []
    for row in study.all_runs().itertuples(index=False):
        if row.run_id not in done:
            tasks.append(RunTask(str(study.path), row.run_id, int(row.point), int(row.seed),
                                 tuple(study.design.overrides(int(row.point))), study.from_year))
    return tasks


def execute(study: Study, executor: Executor, fn: RunFn = run_one,
            on_outcome: Callable[[Outcome], None] | None = None) -> dict[str, Any]:
    """Run what is left of a study (the caller holds the study's lock); returns the session record.

    Every outcome is logged as it arrives, so a driver killed at any point loses no finished run: the run
    folders are the truth, and the next session runs exactly the ones that are not complete."""
    study.clean_tmp()
    tasks = tasks_to_run(study)
    session = len(study.info.get("sessions", [])) + 1
    record: dict[str, Any] = {"session": session, "started": now(), "executor": executor.description,
                              "to_run": len(tasks), "done": 0, "failed": 0, "skipped": 0}
    study.info.setdefault("sessions", []).append(record)
    study.refresh("running", db=False)  # study.duckdb is rebuilt at the end (its views read every run)
    t0 = time.perf_counter()
    state = "interrupted"
    try:
        with contextlib.closing(executor.run(tasks, fn)) as outcomes:
            for out in outcomes:
                study.log({"session": session, **out})
                record[out["status"]] += 1
                if on_outcome is not None:
                    on_outcome(out)
        state = "complete"
    finally:
        wall = time.perf_counter() - t0
        ran = record["done"] + record["failed"]
        record.update(ended=now(), wall_time_s=round(wall, 3),
                      runs_per_minute=round(60 * ran / wall, 2) if wall > 0 and ran else 0.0)
        if state == "complete":
            study.clean_tmp()
        counts = study.refresh(state, db=False)
        if state == "complete" and (counts["failed"] or counts["pending"]):
            study.info["status"]["state"] = "incomplete"
        record["state"] = study.info["status"]["state"]
        study.save_info()
        study.write_db()  # last: a run file it cannot read (StudyError) leaves the record saved
    return record
