"""The study folder: what a study is, which runs are done, and the DuckDB views over them.

    studies/sa/
      study.json        what was asked (kind, scenario, design, seeds), status, failures, sessions
      scenario.json     the resolved base scenario every run starts from (workers read it)
      design.parquet    one row per design point: point, then the parameter values the runs use
      sample.parquet    SALib's raw sample (sensitivity studies; Morris reads step directions from it)
      runs/p00012-s3/   one run folder per (point, seed): Results.save's files plus outputs.parquet
      log.jsonl         one line per finished, failed or skipped run, appended by the driver only
      runs.parquet      every run with its status (done, failed, pending), error, worker and wall time
      study.duckdb      views design, runs, outputs, timeseries, events (+ sensitivity, replicates)
      report.html       the study report

A run folder appears whole or not at all (`Results.save` renames a finished temporary folder), so
"done" means "its folder has a manifest" (and an outputs.parquet that looks whole: one lost or damaged
later makes the run pending again), and a resumed study runs exactly the runs that are not done.
Only the driver writes the log, the tables and the DuckDB file; workers write only their run folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from northroute.experiments.designs import Design
from northroute.results import EV_FILE, MANIFEST, TS_FILE, code_version
from northroute.scenario import Scenario

STUDY_FILE = "study.json"
SCENARIO_FILE = "scenario.json"
DESIGN_FILE = "design.parquet"
SAMPLE_FILE = "sample.parquet"
RUNS_DIR = "runs"
OUTPUTS_FILE = "outputs.parquet"
LOG_FILE = "log.jsonl"
RUNS_TABLE = "runs.parquet"
DB_FILE = "study.duckdb"
SENSITIVITY_FILE = "sensitivity.parquet"
REPLICATES_FILE = "replicates.parquet"
REPORT_FILE = "report.html"
LOCK_FILE = ".lock"
OWN_FILES = {STUDY_FILE, SCENARIO_FILE, DESIGN_FILE, SAMPLE_FILE, RUNS_DIR, LOG_FILE, RUNS_TABLE, DB_FILE,
             SENSITIVITY_FILE, REPLICATES_FILE, REPORT_FILE, LOCK_FILE}
RUN_ID = re.compile(r"^p(\d+)-s(\d+)$")
FORMAT = 1


class StudyError(Exception):
    """A study-folder problem the user can fix (another study in the folder, folder in use, ...)."""


def run_id(point: int, seed: int) -> str:
    """Deterministic: design point and seed. Resuming finds a run by this name alone."""
    return f"p{point:05d}-s{seed}"


def is_complete(run_dir: Path) -> bool:
    """Done: the manifest (written last) is there, and the outputs the views and the analysis read are whole."""
    return (run_dir / MANIFEST).is_file() and _looks_like_parquet(run_dir / OUTPUTS_FILE)


def _looks_like_parquet(path: Path) -> bool:
    """A Parquet file starts and ends with b"PAR1": a cheap check (done() makes it for every run) that finds a
    file deleted, emptied or overwritten; subtler damage shows when DuckDB reads it (`duckdb_line`)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            return head == fh.read(4) == b"PAR1"
    except OSError:  # missing, unreadable, shorter than 4 bytes
        return False


def duckdb_line(exc: Exception) -> str:
    """A DuckDB error (bad SQL, a damaged file under a view) as one line."""
    return " ".join(str(exc).split())


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader (or a killed writer) never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def spec_of(kind: str, scenario: Scenario, design: Design, from_year: int | None = None) -> dict[str, Any]:
    """What identifies a study (seeds aside: a study may grow more seeds). `from_year` enters only when given,
    so studies made before it existed keep their identity."""
    spec = {"kind": kind, "scenario": scenario.model_dump(mode="json"), "design": design.spec}
    return spec if from_year is None else {**spec, "from_year": from_year}


def reads_from(from_year: int | None) -> str:
    """How a study reads its outputs, for messages and reports."""
    return "over the whole run" if from_year is None else f"from 1 January {from_year} (--from-year)"


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _only_new_defaults(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether the new spec differs from a study's only by parameters added to the model since it was made, at
    their defaults: such a study is the same study, and resumes or grows."""
    if old["kind"] != new["kind"] or old.get("from_year") != new.get("from_year"):
        return False
    if old["design"] != json.loads(json.dumps(new["design"], default=str)):
        return False
    a, b = _flat(old["scenario"]), _flat(new["scenario"])
    defaults = _flat(Scenario().model_dump(mode="json"))
    diff = [k for k in a.keys() | b.keys() if a.get(k, _MISSING) != b.get(k, _MISSING)]
    return bool(diff) and all(k not in a and k in defaults and b[k] == defaults[k] for k in diff)


_MISSING = object()


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix.rstrip("."): d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}."))
    return out


def _sql_str(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One driver per study folder at a time (workers never take the lock). Creates the folder."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        holder = (path / LOCK_FILE).read_text(encoding="utf-8").strip() or "another process"
        raise StudyError(f"the study in {path} is being run by {holder}; wait for it or stop it") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
    try:
        yield
    finally:
        os.ftruncate(fd, 0)
        os.close(fd)


def is_locked(path: Path) -> bool:
    """True while a driver runs the study (for read-only commands that must not write under it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return False
    if not (path / LOCK_FILE).is_file():
        return False
    fd = os.open(path / LOCK_FILE, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


class Description(BaseModel):
    """What opening and resuming a study read from its study.json: a damaged file is refused in one line, not
    met later as a traceback."""
    model_config = ConfigDict(extra="allow")
    kind: str
    design: dict[str, Any]
    scenario: dict[str, Any]
    points: int
    seeds: list[int]
    runs: int
    status: dict[str, Any]


@dataclass
class Study:
    path: Path
    info: dict[str, Any]
    design: Design

    # ------------------------------------------------------------------------------ create / open

    @staticmethod
    def exists(path: Path) -> bool:
        return (Path(path) / STUDY_FILE).is_file()

    @classmethod
    def open(cls, path: str | Path) -> Study:
        path = Path(path).resolve()
        if not cls.exists(path):
            raise StudyError(f"no study in {path} ({STUDY_FILE} not found)")
        if not (path / DESIGN_FILE).is_file():
            raise StudyError(f"cannot read the study in {path}: its {DESIGN_FILE} is missing")
        try:
            info = json.loads((path / STUDY_FILE).read_text(encoding="utf-8"))
            points = pd.read_parquet(path / DESIGN_FILE)
            sample = pd.read_parquet(path / SAMPLE_FILE).to_numpy() if (path / SAMPLE_FILE).is_file() else None
        except (OSError, ValueError) as exc:
            raise StudyError(f"cannot read the study in {path}: {exc}") from None
        try:
            Description.model_validate(info)
            d = info["design"]
            prob = None
            if d["method"] != "grid":
                prob = {"num_vars": len(d["parameters"]), "names": [p["name"] for p in d["parameters"]],
                        "bounds": [[p["min"], p["max"]] for p in d["parameters"]]}
        except (ValidationError, KeyError, TypeError):
            raise StudyError(f"cannot read the study in {path}: {STUDY_FILE} is not a study's description") from None
        return cls(path, info, Design(d["method"], points, d, sample=sample, problem=prob))

    @classmethod
    def check_resumable(cls, path: str | Path, kind: str, scenario: Scenario, design: Design,
                        seeds: int, from_year: int | None = None) -> Study | None:
        """The existing study if this command resumes (or grows) it; None if the folder is new.

        Raises StudyError, naming what differs, when the folder holds another study."""
        path = Path(path).resolve()
        if not cls.exists(path):
            if path.exists() and (not path.is_dir() or set(os.listdir(path)) - OWN_FILES):
                raise StudyError(f"{path} exists and is not a study folder; give a new or empty --study folder")
            return None
        study = cls.open(path)
        old = study.info
        new = spec_of(kind, scenario, design, from_year)
        if old.get("spec_hash") == spec_hash(new) or _only_new_defaults(old, new):
            if seeds < len(old["seeds"]):
                raise StudyError(f"the study in {path} has {len(old['seeds'])} seeds; --seeds can grow (to add "
                                 f"replicates) but not shrink")
            return study
        where = f"the study in {path}"
        if old["kind"] != kind:
            raise StudyError(f"{where} is a {old['kind']}, not a {kind}; give another --study folder")
        if old["design"] != json.loads(json.dumps(new["design"], default=str)):
            raise StudyError(f"{where} has another design ({old['design']['method']} over "
                             f"{', '.join(p['name'] for p in old['design']['parameters']) or 'no parameters'}); "
                             "repeat its command to resume it, or give another --study folder")
        if old.get("from_year") != from_year:
            raise StudyError(f"{where} reads its outputs {reads_from(old.get('from_year'))}, not "
                             f"{reads_from(from_year)}; repeat its command to resume it, or give another --study "
                             "folder")
        a, b = _flat(old["scenario"]), _flat(new["scenario"])
        diff = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        first = diff[0] if diff else "?"
        raise StudyError(f"{where} was made with another scenario ({first}: {a.get(first)!r} there, "
                         f"{b.get(first)!r} now; check --set, --years, --scale, the scenario file, or model "
                         "defaults that changed); repeat its command to resume it, or give another --study folder")

    @classmethod
    def create(cls, path: str | Path, kind: str, scenario: Scenario, design: Design, seeds: int,
               command: str = "", from_year: int | None = None) -> Study:
        """Write the study's definition; study.json last, so its presence means the rest is there."""
        from northroute.experiments.outputs import OUTPUTS

        path = Path(path).resolve()
        (path / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        write_json(path / SCENARIO_FILE, scenario.model_dump(mode="json"))
        write_parquet(path / DESIGN_FILE, design.points)
        if design.sample is not None:
            write_parquet(path / SAMPLE_FILE, pd.DataFrame(design.sample, columns=design.params))
        spec = spec_of(kind, scenario, design, from_year)
        info = {
            "format": FORMAT,
            "kind": kind,
            "command": command,
            "scenario_name": scenario.name,
            "design": json.loads(json.dumps(design.spec, default=str)),
            "scenario": spec["scenario"],
            "spec_hash": spec_hash(spec),
            "points": len(design.points),
            "seeds": list(range(seeds)),
            "runs": len(design.points) * seeds,
            "from_year": from_year,
            "outputs": [{"name": o.name, "unit": o.unit, "doc": o.doc} for o in OUTPUTS],
            "created": now(),
            "code_version": code_version(),
            "status": {},
            "failures": [],
            "sessions": [],
        }
        write_json(path / STUDY_FILE, info)
        return cls(path, info, design)

    def grow_seeds(self, seeds: int) -> int:
        """Add replicates: seeds 0..seeds-1; returns how many were added."""
        added = seeds - len(self.info["seeds"])
        if added > 0:
            self.info["seeds"] = list(range(seeds))
            self.info["runs"] = self.info["points"] * seeds
            self.save_info()
        return max(added, 0)

    def save_info(self) -> None:
        self.info["updated"] = now()
        write_json(self.path / STUDY_FILE, self.info)

    # ------------------------------------------------------------------------------------- runs

    @property
    def from_year(self) -> int | None:
        """The year from whose 1 January the outputs are read (None: the whole run)."""
        return self.info.get("from_year")

    @property
    def seeds(self) -> list[int]:
        return list(self.info["seeds"])

    @property
    def runs_dir(self) -> Path:
        return self.path / RUNS_DIR

    def all_runs(self) -> pd.DataFrame:
        """Every run of the study: run_id, point, seed; point-major, so a point's replicates sit together."""
        points = self.design.points["point"].to_numpy()
        seeds = np.asarray(self.seeds, dtype=np.int64)
        pp, ss = np.repeat(points, len(seeds)), np.tile(seeds, len(points))
        return pd.DataFrame({"run_id": [run_id(p, s) for p, s in zip(pp, ss, strict=True)], "point": pp,
                             "seed": ss})

    def done(self) -> set[str]:
        """Run ids whose folder is complete (`is_complete`)."""
        if not self.runs_dir.is_dir():
            return set()
        return {e.name for e in os.scandir(self.runs_dir)
                if RUN_ID.match(e.name) and e.is_dir() and is_complete(Path(e.path))}

    def clean_tmp(self) -> int:
        """Remove temporary folders left by runs that were killed while saving, the empty folder a run claims
        just before it moves its files in (left when it was killed in between), and the folders of runs whose
        outputs were lost or damaged since (`is_complete`): they run again, with the same seed. The caller
        holds the study's lock, so no run of it is saving."""
        n = 0
        if self.runs_dir.is_dir():
            for e in os.scandir(self.runs_dir):
                unfinished = RUN_ID.match(e.name) and e.is_dir() and not is_complete(Path(e.path))
                if e.name.startswith(".tmp-") or unfinished:
                    shutil.rmtree(e.path, ignore_errors=True)
                    n += 1
        return n

    def log(self, entry: dict[str, Any]) -> None:
        with open(self.path / LOG_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")

    def log_entries(self) -> list[dict[str, Any]]:
        path = self.path / LOG_FILE
        if not path.is_file():
            return []
        entries = []
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):  # a line cut by a killed driver
                entries.append(json.loads(line))
        return entries

    def status_table(self) -> pd.DataFrame:
        """Every run with its status: done (folder complete), failed (last attempt raised), or pending."""
        runs = self.all_runs()
        done = self.done()
        last = {e["run_id"]: e for e in self.log_entries() if e.get("status") in ("done", "failed", "skipped")}
        rows = []
        for rid in runs["run_id"]:
            e = last.get(rid, {})
            status = "done" if rid in done else "failed" if e.get("status") == "failed" else "pending"
            rows.append({"status": status, "error": e.get("error") if status == "failed" else None,
                         "wall_time_s": e.get("wall_time_s"), "worker": e.get("worker"),
                         "finished": e.get("time"), "session": e.get("session")})
        table = pd.concat([runs, pd.DataFrame(rows)], axis=1)
        table["wall_time_s"] = table["wall_time_s"].astype(float)
        for col in ("status", "error", "worker", "finished"):
            table[col] = table[col].astype(object)
        return table

    def refresh(self, state: str | None = None, db: bool = True) -> dict[str, int]:
        """Bring runs.parquet, study.json's status and failures, and (with `db`) study.duckdb up to date."""
        table = self.status_table()
        counts = {s: int((table["status"] == s).sum()) for s in ("done", "failed", "pending")}
        write_parquet(self.path / RUNS_TABLE, table)
        failed = table[table["status"] == "failed"]
        self.info["status"] = {**counts, "runs": len(table), "state": state or self.info["status"].get("state")}
        self.info["failures"] = [{"run_id": r.run_id, "error": r.error} for r in failed.itertuples()]
        self.save_info()
        if db:
            self.write_db()
        return counts

    # ------------------------------------------------------------------------------------ DuckDB

    def _view_files(self) -> dict[str, Path]:
        """The views read from one file of the study, and that file."""
        p = self.path
        return {"design": p / DESIGN_FILE, "runs": p / RUNS_TABLE, "sensitivity": p / SENSITIVITY_FILE,
                "replicates": p / REPLICATES_FILE}

    def views(self) -> list[str]:
        """The views this study can offer now: those over its files that exist, and over run folders once a run is
        done; `runs` always (connect builds it from the live status)."""
        have = {view for view, path in self._view_files().items() if path.is_file()} | {"runs"}
        return sorted(have | ({"outputs", "timeseries", "events"} if self.done() else set()))

    def view_sql(self, only: set[str] | None = None) -> list[str]:
        """CREATE VIEW statements over the study's files (absolute paths; the runs that exist so far).

        `only` limits them to some views: views over run folders read every file's footer when created."""
        glob = self.path / RUNS_DIR / "p*"
        sql = [f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet({_sql_str(path)})"
               for view, path in self._view_files().items() if (only is None or view in only) and path.is_file()]
        wanted = {"outputs", "timeseries", "events"} if only is None else {"outputs", "timeseries", "events"} & only
        if not wanted or not self.done():
            return sql
        if "outputs" in wanted:
            sql.append("CREATE OR REPLACE VIEW outputs AS SELECT * FROM "
                       f"read_parquet({_sql_str(glob / OUTPUTS_FILE)}, union_by_name=true)")
        for view, name in (("timeseries", TS_FILE), ("events", EV_FILE)):
            if view in wanted:
                sql.append(
                    f"CREATE OR REPLACE VIEW {view} AS SELECT "
                    r"regexp_extract(filename, '(p[0-9]+-s[0-9]+)[/\\][^/\\]+$', 1) AS run_id, "
                    r"CAST(regexp_extract(filename, 'p([0-9]+)-s[0-9]+[/\\][^/\\]+$', 1) AS BIGINT) AS point, "
                    r"CAST(regexp_extract(filename, 'p[0-9]+-s([0-9]+)[/\\][^/\\]+$', 1) AS BIGINT) AS seed, "
                    f"* EXCLUDE (filename) FROM read_parquet({_sql_str(glob / name)}, filename=true, "
                    "union_by_name=true)")
        return sql

    def write_db(self) -> None:
        """study.duckdb with the views, built aside and moved in place (open readers keep the old file)."""
        import duckdb

        tmp = self.path / f".{DB_FILE}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            with self._reading(), duckdb.connect(str(tmp)) as con:
                for stmt in self.view_sql():
                    con.execute(stmt)
        except StudyError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.path / DB_FILE)

    def connect(self, only: set[str] | None = None):
        """An in-memory DuckDB connection with the views (or `only` some); `runs` is the live status."""
        import duckdb

        con = duckdb.connect()
        with self._reading():
            for stmt in self.view_sql(only):
                con.execute(stmt)
        if only is None or "runs" in only:
            con.execute("DROP VIEW IF EXISTS runs")
            con.register("runs", self.status_table())
        return con

    def outputs(self) -> pd.DataFrame:
        """One row per finished run: run_id, point, seed and every output."""
        from northroute.experiments.outputs import NAMES

        if not self.done():
            return pd.DataFrame(columns=["run_id", "point", "seed", *NAMES])
        import duckdb

        glob = _sql_str(self.runs_dir / "p*" / OUTPUTS_FILE)
        with self._reading(), duckdb.connect() as con:
            return con.execute(f"SELECT * FROM read_parquet({glob}, union_by_name=true) ORDER BY point, seed").df()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """DuckDB's error over the run files (one damaged in a way `done()` does not see) as a StudyError line
        that says how to mend the study."""
        import duckdb

        try:
            yield
        except duckdb.Error as exc:
            raise StudyError(f"cannot read the runs of {self.path}: {duckdb_line(exc)}; delete that run's folder "
                             "and run the study's command again to run it anew") from None
