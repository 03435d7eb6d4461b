"""Results of one run: time series, event log and manifest, saved as Parquet plus JSON."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from northroute.scenario import Scenario, changed_from_defaults
from northroute.world.geography import Geography, data_hashes, read_table
from northroute.world.people import ROLE_NAMES, SUBSTANCE_NAMES
from northroute.world.state import ARREST_CAUSES, EVENT_KINDS, EventLog, World

PRICE_RISE_FLAG = 6.0  # the largest price rise the evidence reports: heroin retail six-fold in 2010-2016 (L1378)

TS_FILE, EV_FILE, MANIFEST = "timeseries.parquet", "events.parquet", "manifest.json"
NET_FILE, NODES_FILE = "network.parquet", "network_nodes.parquet"


def code_version(here: Path | None = None) -> str:
    """The package version, with the git commit (and '.dirty') when the code runs from this repository's src/;
    an installed copy says only its version: the site-packages it sits in may be inside another repository (a
    pyenv checkout), whose commit is not this code's."""
    from northroute import __version__

    here = (here or Path(__file__)).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, timeout=5,
                              check=True).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() / "src" / "northroute" != here:
            return __version__
        dirty = git("status", "--porcelain", "--", ".")
        return f"{__version__}+g{git('rev-parse', '--short', 'HEAD')}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def events_frame(log: EventLog, geo: Geography, start: date) -> pd.DataFrame:
    """The event log as a table with readable categories (place codes, substance names).

    Consumes the log (it is built once, at the end of a run)."""
    data = log.columns(consume=True)

    def labels(column: str, names: Sequence[str]) -> pd.Categorical:
        """Codes as names, -1 (does not apply) as ''."""
        codes = data[column]
        return pd.Categorical.from_codes(np.where(codes < 0, len(names), codes), [*names, ""])

    week = data["week"].astype(np.int64)
    return pd.DataFrame({
        "week": data["week"],
        "date": np.datetime64(start, "D") + (7 * week).astype("timedelta64[D]"),
        "kind": pd.Categorical.from_codes(data["kind"], EVENT_KINDS),
        "person": data["person"],
        "place": labels("place", geo.codes),
        "substance": labels("substance", SUBSTANCE_NAMES),
        "grams": data["grams"],
        "value": data["value"],
        "role": labels("role", ROLE_NAMES),
        "cause": labels("cause", ARREST_CAUSES),
    })


def _claim(runs_dir: Path, run_id: str, unique: bool) -> Path:
    """Reserve the run's folder by creating it empty (atomic: of two savers only one can create a name); with
    `unique`, the first free name of `run_id`, `run_id-2`, ..., else `run_id` or FileExistsError. Without
    `unique` an empty `run_id` folder is taken over: it is the claim of a saver killed before it moved its files
    in (a study's Dask worker), and the run that reruns there is the same run; if that saver is alive after all,
    whichever of the two moves its files in first keeps the folder, and the other's move fails."""
    k = 1
    while True:
        final = runs_dir / (run_id if k == 1 else f"{run_id}-{k}")
        try:
            final.mkdir()
            return final
        except FileExistsError:
            if not unique:
                if final.is_dir() and not any(final.iterdir()):
                    return final
                raise
            k += 1


def rows_by_kind(world: World) -> dict[str, int]:
    p = world.people
    counts = np.bincount(p.role, minlength=len(ROLE_NAMES))
    out = {f"people_{name}": int(c) for name, c in zip(ROLE_NAMES, counts, strict=True)}
    out["people_total"] = len(p)
    out["lots_final"] = len(world.lots)
    return out


class RunFileError(ValueError):
    """A file of a run folder that is missing or damaged, named in words (not a parser's message)."""


def _unreadable(path: Path, exc: Exception, what: str) -> RunFileError:
    """An operating-system error (no permission, ...) as itself; anything else means the file is damaged
    (pyarrow reports a cut or garbled file as ValueError or as OSError without an errno)."""
    if isinstance(exc, OSError) and exc.strerror:
        return RunFileError(f"cannot read {path.name}: {exc.strerror}")
    return RunFileError(f"{path.name} is damaged (not {what})")


def read_run_file(path: Path) -> pd.DataFrame:
    """One Parquet table of a run folder; RunFileError says which file is missing or damaged."""
    if not path.is_file():
        raise RunFileError(f"{path.name} is missing")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc, "a readable Parquet file") from exc


@dataclass
class Results:
    timeseries: pd.DataFrame
    events: pd.DataFrame
    manifest: dict[str, Any]
    network: pd.DataFrame = field(default_factory=pd.DataFrame)  # yearly snapshots: edges
    network_nodes: pd.DataFrame = field(default_factory=pd.DataFrame)  # and their nodes
    run_dir: Path | None = None

    def series(self, metric: str, level: str | None = None, place: str | None = None,
               substance: str | None = None) -> pd.DataFrame:
        """Rows of one metric, optionally filtered by level, place and substance."""
        ts = self.timeseries
        mask = ts["metric"] == metric
        for col, val in (("level", level), ("place", place), ("substance", substance)):
            if val is not None:
                mask &= ts[col] == val
        return ts[mask]

    def save(self, runs_dir: str | Path, run_id: str, extra: Callable[[Path], None] | None = None,
             unique: bool = False) -> Path:
        """Write the run folder atomically: a half-written folder is never left behind.

        `extra` writes more files (e.g. the report) into the folder before it is moved in place. With `unique` the
        folder is the first free name of `run_id`, `run_id-2`, ...: two runs saved at once (two dashboard tabs, a
        dashboard and a command line) never take the same name.
        """
        runs_dir = Path(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        tmp = runs_dir / f".tmp-{run_id}-{os.getpid()}-{os.urandom(4).hex()}"  # one per saver, even per thread
        tmp.mkdir()
        final = None
        try:
            self.timeseries.to_parquet(tmp / TS_FILE, index=False)
            self.events.to_parquet(tmp / EV_FILE, index=False)
            self.network.to_parquet(tmp / NET_FILE, index=False)
            self.network_nodes.to_parquet(tmp / NODES_FILE, index=False)
            self.run_dir = runs_dir / run_id
            if extra is not None:
                extra(tmp)
            final = _claim(runs_dir, run_id, unique)
            manifest = dict(self.manifest, run_dir=str(final))
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
            tmp.rename(final)  # onto the empty folder claimed for it
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if final is not None and final.is_dir() and not any(final.iterdir()):
                final.rmdir()
            self.run_dir = None
            raise
        self.manifest = manifest
        self.run_dir = final
        return final

    @classmethod
    def load(cls, run_dir: str | Path) -> Results:
        """The run saved in `run_dir`; RunFileError names a missing or damaged file."""
        run_dir = Path(run_dir)
        if not (run_dir / MANIFEST).is_file():
            raise RunFileError(f"{MANIFEST} is missing")
        try:
            manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise _unreadable(run_dir / MANIFEST, exc, "readable JSON") from exc
        if not isinstance(manifest, dict):
            raise RunFileError(f"{MANIFEST} is damaged (not a run's manifest)")
        optional = {name: read_run_file(run_dir / f) if (run_dir / f).is_file() else pd.DataFrame()
                    for name, f in (("network", NET_FILE), ("network_nodes", NODES_FILE))}
        return cls(read_run_file(run_dir / TS_FILE), read_run_file(run_dir / EV_FILE), manifest,
                   run_dir=run_dir, **optional)


def build_manifest(world: World, scenario: Scenario, seed: int, stats: dict[str, Any]) -> dict[str, Any]:
    """What a run was and how it went. `scenario` is the one the run started from: the world's own copy has the
    timeline's changes applied by the end, and a rerun from it would not be the same run."""
    pure, bulk = world.stock_totals()
    return {
        "scenario": scenario.model_dump(mode="json"),
        "seed": seed,
        "code_version": code_version(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "data_hashes": data_hashes(),
        "rows_by_kind": rows_by_kind(world),
        **stats,
        "ledger": {**asdict(world.ledger), "initial_pure": world.initial_stock[0],
                   "initial_bulk": world.initial_stock[1], "final_pure": pure, "final_bulk": bulk},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def summarize(results: Results) -> dict[str, Any]:
    """The numbers `northroute run` prints: flows by route, seizures (all: crossings, arrests, Koknar),
    prices, users and dealers, arrests and prisoners."""
    ts, man = results.timeseries, results.manifest
    scen = man["scenario"]

    def total(metric: str, by: list[str]) -> pd.Series:
        d = ts[ts["metric"] == metric]
        return d.groupby(by, observed=True)["value"].sum() / 1000.0

    route = pd.concat({k: total(m, ["place", "substance"]) for k, m in (
        ("source_kg", "route_supply_g"), ("entered_kg", "route_flow_g"), ("seized_kg", "route_seizures_g"),
        ("exported_kg", "route_exports_g"))}, axis=1).fillna(0.0)
    route = route[route["source_kg"] > 0]
    routes = [{"route": r, "substance": s, **{k: float(v) for k, v in row.items()}}
              for (r, s), row in route.iterrows()]

    year = pd.to_datetime(ts["date"]).dt.year
    first_year = int(year.min()) if len(ts) else 0
    in_first = year == first_year  # the calendar year, as the report's table
    first_weeks = int(ts.loc[in_first, "week"].nunique())
    nat = ts[in_first & (ts["place"] == "KZ") & (ts["metric"] == "price") & (ts["value"] > 0)]  # 0: no users
    price = nat.groupby(["substance", "level"], observed=True)["value"].mean()
    table = table_2012()
    last = ts[ts["week"] == ts["week"].max()]
    count = last.groupby(["metric", "level", "substance"], observed=True)["value"].sum()
    true_world = ts[ts["world"] == "true"]
    seized = true_world[true_world["metric"] == "seizures_total_g"].groupby("substance", observed=True)["value"].sum()
    seized = seized / 1000.0
    consumed = total("consumption_g", ["substance"])
    substances = []
    for sub in SUBSTANCE_NAMES:
        substances.append({
            "substance": sub,
            "seized_kg": float(seized.get(sub, 0.0)),
            "consumed_kg": float(consumed.get(sub, 0.0)),
            "wholesale_price_first_year": float(price.get((sub, "wholesale"), np.nan)),
            "retail_price_first_year": float(price.get((sub, "retail"), np.nan)),
            "wholesale_price_2012_table": float(table.get((sub, "wholesale"), np.nan)),
            "retail_price_2012_table": float(table.get((sub, "retail"), np.nan)),
            "users_end": float(count.get(("users", "user", sub), 0.0)),
            "retail_dealers_end": float(count.get(("dealers", "retail", sub), 0.0)),
            "wholesalers_end": float(count.get(("dealers", "wholesale", sub), 0.0)),
        })
    wall = man.get("wall_time_s", 0.0)
    return {
        "scenario": scen["name"],
        "seed": man["seed"],
        "run_dir": str(results.run_dir) if results.run_dir else None,
        "weeks": man.get("weeks_recorded"),
        "first_year": first_year,
        "first_year_weeks": first_weeks,
        "scale": scen["population"]["scale"],
        "changed": changed_from_defaults(scen),
        "wall_time_s": wall,
        "agent_steps_per_s": man.get("agent_steps", 0) / wall if wall else 0.0,
        "routes": routes,
        "substances": substances,
        "enforcement": _enforcement(ts),
        "warnings": run_warnings(ts),
    }


def table_2012(stat: str = "average") -> pd.Series:
    """Table 5.6's 2012 price (KZT/g) by substance and level: the national average, or `stat` ("median", "min":
    the cheapest region's, "max": the dearest region's); a value flagged in the data file (the garbled heroin
    retail minimum) is left out."""
    table = read_table("prices_2012.csv")
    table = table[(table["stat"] == stat) & table["flag"].isna()]
    return table.set_index(["substance", "level"])["value_kzt_per_g"]


def run_warnings(ts: pd.DataFrame) -> list[str]:
    """What a reader of this run should be warned of (printed by `run`, shown in its report)."""
    return [price_warning(peak) for peak in run_price_peaks(ts).to_dict("records")]


def _yearly_prices(ts: pd.DataFrame) -> pd.Series:
    """A run's mean price by place, substance, level and calendar year."""
    prices = ts[ts["metric"] == "price"]
    year = pd.to_datetime(prices["date"]).dt.year.rename("year")
    return prices.groupby([prices["place"], prices["substance"], prices["level"], year], observed=True)["value"].mean()


def run_price_peaks(ts: pd.DataFrame) -> pd.DataFrame:
    """`price_peaks` of a run's time series."""
    return price_peaks(_yearly_prices(ts), table_2012("average"), table_2012("max"))


def price_rises(yearly: pd.Series, average: pd.Series, dearest: pd.Series) -> pd.Series:
    """Yearly mean prices (by place, substance, level, year) over Table 5.6's 2012 price: the national average for
    national prices, the dearest region's for regional ones (NaN where the table has none)."""
    idx = yearly.index
    keys = pd.MultiIndex.from_arrays([idx.get_level_values("substance"), idx.get_level_values("level")])
    national = idx.get_level_values("place") == "KZ"
    return yearly / np.where(national, average.reindex(keys).to_numpy(), dearest.reindex(keys).to_numpy())


def run_price_rise(ts: pd.DataFrame) -> float:
    """The largest of a run's `price_rises`: above `PRICE_RISE_FLAG`, `run` warns (a study output)."""
    return float(price_rises(_yearly_prices(ts), table_2012("average"), table_2012("max")).max())


def price_peaks(yearly: pd.Series, average: pd.Series, dearest: pd.Series) -> pd.DataFrame:
    """Yearly mean prices (by place, substance, level, year) beyond `PRICE_RISE_FLAG` times Table 5.6's 2012
    price: the national average for national prices, the dearest region's for regional ones. A flag for the
    reader, not a verdict: nothing in the model caps the arrest-risk premium (ODD limitation 23), so some
    parameter corners spiral far beyond anything reported, in some regions or years only. One row per drug and
    level, at its peak: substance, level, place, year, price, rise (times the reference) and flagged (where)."""
    rises = price_rises(yearly, average, dearest)
    over = rises[rises > PRICE_RISE_FLAG]
    rows = []
    for (sub, level), rise in over.groupby(level=["substance", "level"], observed=True, sort=False):
        peak = rise.idxmax()
        spread = ", ".join(sorted({"national" if p == "KZ" else str(p) for p in rise.index.get_level_values("place")}))
        rows.append({"substance": sub, "level": level, "place": peak[0], "year": peak[3], "price": yearly[peak],
                     "rise": rise.max(), "flagged": spread})
    return pd.DataFrame(rows, columns=["substance", "level", "place", "year", "price", "rise", "flagged"])


def price_warning(peak: dict[str, Any]) -> str:
    """One row of `price_peaks` as a warning line."""
    where, base = (("nationally", "national average") if peak["place"] == "KZ" else
                   (f"in {peak['place']}", "price in the dearest region"))
    return (f"the {peak['level']} {peak['substance']} price reaches {peak['price']:,.0f} KZT/g {where} in "
            f"{peak['year']}, {peak['rise']:,.0f} times Table 5.6's 2012 {base}, beyond the largest rise the "
            f"evidence reports (six-fold, L1378; flagged in {peak['flagged']}); the arrest-risk premium has no "
            "ceiling (docs/ODD.md, limitation 23)")


def _enforcement(ts: pd.DataFrame) -> list[dict[str, Any]]:
    """Per level: arrests a year in the true and the recorded world, and prisoners at the end."""
    nat = ts[ts["place"] == "KZ"]
    years = (ts["week"].max() + 1) / 52.1775  # a run shorter than a year is annualised too
    per = nat.groupby(["metric", "level", "world"], observed=True)["value"].sum() / years
    last = nat[nat["week"] == nat["week"].max()].groupby(["metric", "level"], observed=True)["value"].sum()
    rows = []
    for level in ("user", "retail", "wholesale", "trafficking"):
        rows.append({"level": level, "arrests_per_year": float(per.get(("arrests", level, "true"), 0.0)),
                     "recorded_arrests_per_year": float(per.get(("arrests", level, "recorded"), 0.0)),
                     "convictions_per_year": float(per.get(("convictions", level, "recorded"), 0.0)),
                     "inmates_end": float(last.get(("inmates", level), 0.0))})
    rows.append({"level": "police", "registered_crimes_per_year": float(per.get(("registered_crimes", "police",
                                                                                   "recorded"), 0.0)),
                 "corruption_cases_per_year": float(per.get(("corruption_cases", "police", "recorded"), 0.0)),
                 "released_no_case_per_year": sum(float(per.get(("released_no_case", lv, "true"), 0.0))
                                                  for lv in ("user", "retail")),
                 "corrupt_officers_end": float(last.get(("corrupt_officers", "police"), 0.0)),
                 "protected_wholesalers_end": float(last.get(("protected_dealers", "wholesale"), 0.0))})
    return rows
