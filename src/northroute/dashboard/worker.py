"""The child process of a dashboard job: `python -m northroute.dashboard.worker JOB_DIR`.

Runs each task of job.json with `northroute.run`, saves it into the runs folder like `northroute run`
does (same run id, same atomic folder, report included) and keeps status.json current, at most a few
times a second. It reads nothing from the page but job.json, which the page wrote from a validated
scenario.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from northroute.dashboard.runs import read_json, write_json


def main(job_dir: str) -> int:
    import northroute as nr
    from northroute.cli import run_id
    from northroute.report import write_report
    from northroute.scenario import Scenario

    folder = Path(job_dir).resolve()
    job = read_json(folder / "job.json")
    if job is None:
        print(f"cannot read {folder / 'job.json'}", file=sys.stderr)
        return 2
    runs_dir = Path(job["runs_dir"])
    tasks = job["tasks"]
    status = {"state": "running", "done": 0, "total": job["total"], "task": 0, "n_tasks": len(tasks),
              "message": "", "runs": []}
    offset, last = 0, 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= 0.25 or done == total:
            last = now
            write_json(folder / "status.json", {**status, "done": offset + done})

    try:
        for k, task in enumerate(tasks):
            scen = Scenario.model_validate(task["scenario"])
            status.update(task=k, message=f"run {k + 1} of {len(tasks)}: {scen.name}, seed {task['seed']}")
            write_json(folder / "status.json", {**status, "done": offset})
            results = nr.run(scen, int(task["seed"]), progress=progress)
            offset += scen.weeks + scen.time.burn_in_weeks
            status.update(message=f"saving run {k + 1} of {len(tasks)}")
            write_json(folder / "status.json", {**status, "done": offset})

            def extra(tmp: Path, results: nr.Results = results) -> None:
                if job.get("report", True):
                    write_report(results, tmp / "report.html")

            final = results.save(runs_dir, run_id(scen, int(task["seed"])), extra=extra, unique=True)
            status["runs"].append({"label": task.get("label", ""), "seed": int(task["seed"]), "run": final.name})
        status.update(state="done", message="finished")
        write_json(folder / "status.json", {**status, "done": status["total"]})
        return 0
    except Exception as exc:  # noqa: BLE001 - any failure must reach the page as one line
        traceback.print_exc()
        status.update(state="failed", message=f"{type(exc).__name__}: {exc}")
        write_json(folder / "status.json", {**status, "done": offset})
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
