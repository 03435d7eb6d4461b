"""Studies on a real Dask cluster: a scheduler and two workers started as subprocesses on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from northroute.experiments.study import plan_sweep, run_study
from tests.test_studies import TINY, TINY_SETS, cli, run_files

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`dask scheduler` and `dask worker --nworkers 1 --nthreads 1` processes, each in its own process group."""

    def __init__(self, scratch: Path, n_workers: int = 2) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.scratch = scratch
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        port = self.address.rsplit(":", 1)[1]
        self._start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", port,
                     "--no-dashboard"], env, "scheduler")
        for i in range(n_workers):
            self._start([sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nworkers", "1",
                         "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard", "--name", f"w{i}",
                         "--local-directory", str(scratch / f"w{i}")], env, f"worker-{i}")
        self.wait_for_workers(n_workers)

    def _start(self, args: list[str], env: dict[str, str], name: str) -> None:
        log = open(self.scratch / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                           start_new_session=True))

    def client(self):
        from distributed import Client

        return Client(self.address, timeout="30s", set_as_default=False)

    def wait_for_workers(self, n: int) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=90)

    def kill_worker(self, i: int) -> None:
        """SIGKILL the worker's whole process group (its nanny and the worker process): no goodbye."""
        os.killpg(self.procs[1 + i].pid, signal.SIGKILL)

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for proc in self.procs:  # a nanny's worker process may outlive a SIGTERMed nanny for a moment
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c
    finally:
        c.close()


def test_dask_study_gives_the_same_files_as_the_local_pool(cluster, tmp_path):
    vary = ["--vary", "market.pool_share=0.1,0.5", "--vary", "market.adulteration=0.2,0.3"]
    res = cli("sweep", *vary, "--seeds", "2", "--study", str(tmp_path / "dask"), "--scheduler", cluster.address,
              "--no-report", *TINY)
    assert res.returncode == 0, res.stderr
    assert "8 of 8 runs done, 0 failed" in res.stdout
    info = json.loads((tmp_path / "dask" / "study.json").read_text())
    assert info["sessions"][-1]["executor"].startswith(f"Dask scheduler {cluster.address} (2 workers")
    plan = plan_sweep("baseline-2012", ["market.pool_share=0.1,0.5", "market.adulteration=0.2,0.3"], seeds=2,
                      overrides=TINY_SETS)
    local, _ = run_study(plan, tmp_path / "local", workers=2)
    assert run_files(tmp_path / "dask") == run_files(local.path)
    workers = {json.loads(line)["worker"] for line in (tmp_path / "dask" / "log.jsonl").read_text().splitlines()}
    assert len(workers) == 2  # both Dask workers ran some of the runs


def test_a_run_that_raises_on_a_dask_worker_is_recorded(cluster, tmp_path):
    from tests.test_studies import failing_run

    plan = plan_sweep("baseline-2012", ["market.pool_share=0.1,0.3,0.5"], seeds=2, overrides=TINY_SETS)
    study, session = run_study(plan, tmp_path / "s", scheduler=cluster.address, fn=failing_run)
    assert (session["done"], session["failed"]) == (5, 1)
    assert study.info["failures"] == [{"run_id": "p00001-s0", "error": "RuntimeError: boom inside a worker"}]


@pytest.mark.slow
def test_a_killed_worker_loses_no_run(tmp_path):
    """One of two workers is SIGKILLed while it runs a task: Dask reruns its runs on the other worker."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    c = Cluster(scratch)
    try:
        study = tmp_path / "study"
        args = [sys.executable, "-m", "northroute", "sweep", "--vary", "market.pool_share=0.1:0.9:0.05", "--seeds",
                "2", "--study", str(study), "--scheduler", c.address, "--scale", "0.005", "--years", "0.3", "--set",
                "time.burn_in_weeks=2", "--quiet", "--no-report"]
        expected = {f"p{p:05d}-s{s}" for p in range(17) for s in range(2)}
        driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with c.client() as client:
            w0 = next(addr for addr, w in client.scheduler_info()["workers"].items() if w["name"] == "w0")
            deadline = time.monotonic() + 120
            while not (len(list(study.glob("runs/p*/manifest.json"))) >= 3 and client.processing([w0])[w0]):
                assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()
                time.sleep(0.02)
            in_flight = client.processing([w0])[w0]
        c.kill_worker(0)
        out, err = driver.communicate(timeout=240)
        assert driver.returncode == 0, err
        assert in_flight, "the killed worker had a run in flight"
        assert f"{len(expected)} of {len(expected)} runs done, 0 failed" in out
        assert {p.name for p in (study / "runs").iterdir()} == expected  # each run once, no temporary folder
        log = [json.loads(line) for line in (study / "log.jsonl").read_text().splitlines()]
        done = [e["run_id"] for e in log if e["status"] == "done"]
        skipped = {e["run_id"] for e in log if e["status"] == "skipped"}
        assert len(done) == len(set(done))  # no run done twice
        # A run the killed worker finished just before it died is logged "skipped" by its rerun, which
        # finds the folder complete: its outcome died with the worker, the run itself is there once.
        assert set(done) | skipped == expected and len(skipped - set(done)) <= 1, (sorted(done), sorted(skipped))
    finally:
        c.close()
