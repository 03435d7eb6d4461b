"""Scalar outputs of one run: the numbers a sweep compares and a sensitivity analysis decomposes.

Each is computed from the run's world=true time series (`Results.timeseries`), or from both worlds where it
says `recorded` (what the agencies register: seizures on record, crimes, corruption cases, the distances to
the records). Quantities of people
and drugs are national equivalents (simulated value / `population.scale`), so that runs at different
scales compare. Every output is documented by its `doc` (shown in the study report and in
docs/studies.md); an output that a run cannot define (no heroin users at all, say) is NaN.

A study made with `--from-year YEAR` reads its outputs from 1 January of that year to the end of the run,
so a policy that starts in 2016 is not diluted by the years before it; the distances to the targets and the
price check (`whole_run`) always read the whole run, since they are about the fit to the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

WEEKS_PER_YEAR = 52.1775


@dataclass(frozen=True)
class Output:
    name: str
    unit: str
    doc: str
    compute: Callable[[pd.DataFrame, float], float]  # (world=true time series, scale) -> value
    recorded: bool = False  # the output reads the recorded world (gets both worlds)
    whole_run: bool = False  # read over the whole run even when the study reads its outputs from a later year


def _rows(ts: pd.DataFrame, metric: str, level: str, substance: str, place: str | None = None) -> pd.DataFrame:
    mask = (ts["metric"] == metric) & (ts["level"] == level) & (ts["substance"] == substance)
    if place is not None:
        mask &= ts["place"] == place
    return ts.loc[mask, ["week", "place", "value"]]


def _years(ts: pd.DataFrame) -> float:
    """The years the rows cover: their recorded weeks (every week is recorded), as `compare` counts them."""
    return ts["week"].nunique() / WEEKS_PER_YEAR


def retail_price(substance: str) -> Callable[[pd.DataFrame, float], float]:
    def compute(ts: pd.DataFrame, scale: float) -> float:
        v = _rows(ts, "price", "retail", substance, "KZ")["value"]
        v = v[v > 0]  # 0 = no users anywhere that week
        return float(v.mean()) if len(v) else np.nan

    return compute


def heroin_seizures(ts: pd.DataFrame, scale: float) -> float:
    return float(_rows(ts, "seizures_g", "trafficking", "heroin")["value"].sum()) / 1000 / scale / _years(ts)


def heroin_seized_recorded(ts: pd.DataFrame, scale: float) -> float:
    """Every channel's heroin as the agencies registered it, the quantity Table 5.5 counts."""
    rows = _rows(ts[ts["world"] == "recorded"], "seizures_total_g", "police", "heroin", place="KZ")
    return float(rows["value"].sum()) / 1000 / scale / _years(ts)


def heroin_export_share(ts: pd.DataFrame, scale: float) -> float:
    exported = _rows(ts, "exports_g", "trafficking", "heroin")["value"].sum()
    domestic = _rows(ts, "purchases_g", "wholesale", "heroin")["value"].sum()
    total = exported + domestic
    return float(exported / total) if total > 0 else np.nan


def heroin_users_end(ts: pd.DataFrame, scale: float) -> float:
    users = _rows(ts, "users", "user", "heroin")
    return float(users.loc[users["week"] == ts["week"].max(), "value"].sum()) / scale


def heroin_unmet_need(ts: pd.DataFrame, scale: float) -> float:
    keys = ["week", "place"]
    unmet = _rows(ts, "unmet_need_share", "user", "heroin").set_index(keys)["value"]
    users = _rows(ts, "users", "user", "heroin").set_index(keys)["value"].reindex(unmet.index, fill_value=0.0)
    weekly = pd.DataFrame({"w": unmet * users, "users": users}).groupby(level="week").sum()
    weekly = weekly[weekly["users"] > 0]
    return float((weekly["w"] / weekly["users"]).mean()) if len(weekly) else np.nan


def target_statistics(ts: pd.DataFrame, scale: float) -> dict[str, float] | None:
    """The run's values of the calibration targets, or None unless it records 2012-2017 whole: the targets are
    yearly sums over those years."""
    from northroute.calibration.targets import YEARS, statistics
    from northroute.validation.facts import full_years

    return statistics(ts, scale) if set(YEARS) <= full_years(ts) else None


def target_distance(name: str) -> Callable[[pd.DataFrame, float], float]:
    """The run's distance to the target set `name` of `calibrate --targets`; NaN unless it records 2012-2017 whole."""
    def measure(ts: pd.DataFrame, scale: float) -> float:
        from northroute.calibration.targets import TARGETS, distance

        stats = target_statistics(ts, scale)
        return np.nan if stats is None else distance(stats, TARGETS[name]())
    return measure


def price_peak_rise(ts: pd.DataFrame, scale: float) -> float:
    from northroute.results import run_price_rise

    return run_price_rise(ts)


def claim(key: str) -> Callable[[pd.DataFrame, float], float]:
    """The `compare` outcome `key` (report.compare.CLAIMS) over the weeks given (the whole run, or those from
    `--from-year` on), so a study's enforcement and corruption outputs are the numbers `compare` shows."""
    def compute(ts: pd.DataFrame, scale: float) -> float:
        from northroute.report.compare import CLAIMS

        outcome = next(c for c in CLAIMS if c.key == key)
        return outcome.value(ts, scale, _years(ts))

    return compute


thesis_distance = target_distance("thesis-2012-2017")
records_distance = target_distance("records-2012-2017")


OUTPUTS: tuple[Output, ...] = (
    Output("heroin_retail_price", "KZT/g", "mean over the recorded weeks of the user-weighted national retail "
           "price of heroin per street gram (weeks without users left out)", retail_price("heroin")),
    Output("heroin_seizures_kg_year", "kg/year", "heroin seized at border crossings per year, national "
           "equivalent", heroin_seizures),
    Output("heroin_seized_recorded_kg_year", "kg/year", "heroin seized by every channel (crossings, staging posts, "
           "arrests) and registered, per year, national equivalent: what Table 5.5 counts", heroin_seized_recorded,
           recorded=True),
    Output("heroin_export_share", "fraction", "share of the heroin that traffickers sold which was sold at "
           "Russian hubs (the rest was bought by Kazakh wholesalers)", heroin_export_share),
    Output("heroin_users_end", "persons", "people using heroin in the last recorded week (users and retail "
           "dealers who use), national equivalent", heroin_users_end),
    Output("heroin_unmet_need", "fraction", "mean over the recorded weeks of the share of wanted heroin not "
           "obtained, regions weighted by their users", heroin_unmet_need),
    Output("marijuana_retail_price", "KZT/g", "mean over the recorded weeks of the user-weighted national "
           "retail price of marijuana per gram", retail_price("marijuana")),
    Output("retail_arrests_year", "persons/year", "retail dealers arrested per year (true: people in that role, "
           "whatever the charge), national equivalent", claim("arrests_retail")),
    Output("wholesale_arrests_year", "persons/year", "wholesalers arrested per year (true: people in that role, "
           "whatever the charge), national equivalent", claim("arrests_wholesale")),
    Output("drug_prisoners", "persons", "mean over the recorded weeks of the people in prison for drug offences "
           "(users, dealers and traffickers), national equivalent", claim("prison_population")),
    Output("drug_crimes_recorded_year", "crimes/year", "drug crimes registered by the police per year (recorded "
           "world), national equivalent", claim("recorded_drug_crimes"), recorded=True),
    Output("corruption_cases_year", "cases/year", "corruption cases registered against drug officers per year "
           "(recorded world), national equivalent", claim("corruption_cases"), recorded=True),
    Output("corrupt_officers", "officers", "mean over the recorded weeks of the serving officers who are corrupt, "
           "drug police, their managers and customs (true world), national equivalent; below scale 0.1 it runs high, "
           "since every region keeps a manager (docs/ODD.md, limitation 4)", claim("corrupt_officers")),
    Output("thesis_distance", "log-ratio^2", "distance to the calibration targets thesis-2012-2017 (recorded "
           "seizures 2012-2017, 2012 prices, heroin price trend; northroute/calibration/targets.py); needs a run "
           "covering 2012-2017", thesis_distance, recorded=True, whole_run=True),
    Output("records_distance", "log-ratio^2", "distance to the calibration targets records-2012-2017 (those of "
           "thesis_distance and the enforcement on record: drug crimes 2015-2017, sale crimes and people charged "
           "with sale 2017); needs a run covering 2012-2017", records_distance, recorded=True, whole_run=True),
    Output("price_peak_rise", "times", "the largest yearly mean price over Table 5.6's 2012 price (the national "
           "average for national prices, the dearest region's for regional ones), over drugs, levels, places and "
           "years; above 6, the largest rise the evidence reports (L1378), `run` warns and the study report counts "
           "the run (docs/ODD.md, limitation 23)", price_peak_rise, whole_run=True),
)
NAMES = tuple(o.name for o in OUTPUTS)


def by_name(name: str) -> Output:
    for out in OUTPUTS:
        if out.name == name:
            return out
    raise KeyError(f"unknown output '{name}' (outputs: {', '.join(NAMES)})")


def compute(timeseries: pd.DataFrame, manifest: dict[str, Any], from_year: int | None = None) -> dict[str, float]:
    """Every output of one run, from its time series and manifest (for the scale); from 1 January of
    `from_year` on, if given, except the `whole_run` outputs."""
    scale = float(manifest["scenario"]["population"]["scale"])
    late = timeseries if from_year is None else timeseries[timeseries["week"] >= first_week(manifest, from_year)]
    frames: dict[tuple[bool, bool], pd.DataFrame] = {}
    for whole, recorded in {(o.whole_run, o.recorded) for o in OUTPUTS}:
        ts = timeseries if whole else late
        frames[whole, recorded] = ts if recorded else ts[ts["world"] == "true"]
    return {o.name: o.compute(frames[o.whole_run, o.recorded], scale) if len(frames[o.whole_run, o.recorded])
            else np.nan for o in OUTPUTS}


def first_week(manifest: dict[str, Any], from_year: int) -> float:
    """The first recorded week on or after 1 January of `from_year`, as `compare --from-year` counts it
    (`claim_period`); infinite, so that nothing is read, if the run records no week of that year or later."""
    from northroute.report.compare import claim_period

    start = date.fromisoformat(str(manifest["scenario"]["time"]["start"]))
    try:
        return claim_period(start, int(manifest["weeks_recorded"]), from_year=from_year).first_week
    except ValueError:
        return np.inf
