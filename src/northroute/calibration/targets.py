"""Calibration targets: the recorded series the thesis gives for 2012-2017, and the distance to them.

`thesis-2012-2017` (issue #6):
- recorded seizures by drug and year, Table 5.5 (thesis L1361-1370, `data/seizures_2012_2017.csv`):
  heroin; "cannabis plants" against the model's marijuana; "other cannabis" against its hashish
  (a reading of the table's rows, which the thesis does not define);
- 2012 national average prices by drug and level, Table 5.6 (L1382-1392, `data/prices_2012.csv`);
- the heroin retail price trend: six-fold from 2010 to 2016 (CADAP, L1378, L2031), i.e. x6^(4/6) = x3.30
  from 2012 to 2016 if the rise was steady (derived).
`records-2012-2017` adds a fifth group, the volume of enforcement on record: drug offences of a criminal nature
registered in 2015-2017 (internal-affairs agencies, cited by the Eurasian Harm Reduction Association, not in the
thesis; `data/drug_crimes_2015_2017.csv`) against the model's registered drug crimes, and the 2,266 drug crimes
and 733 dealers sent to court that the police reported for 2017 (thesis L1908, Mukhamedzhanov 2017) against its
sale crimes and people charged with sale or smuggling (SF34 reads the 2,266 as sale crimes). The facts the model
passes only with many drug officers (docs/studies.md, "How many facts can the assumptions reach?") take several
times these counts; this set lets a calibration see that.
The model's side is its *recorded* world (seizures as the agencies register them) and its national prices,
in national equivalents (simulated / scale). The distance is the mean over the groups (four, or five with the
enforcement) of the mean squared log-ratio model/target within the group, so every group weighs the same
whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from northroute.world.geography import read_table

YEARS = tuple(range(2012, 2018))
SEIZURE_ROWS = {"heroin": "heroin", "marijuana": "cannabis_plants", "hashish": "other_cannabis"}
TREND = 6.0 ** (4 / 6)  # 2012 -> 2016 share of the 2010-2016 six-fold rise (L1378), steady growth assumed


@dataclass(frozen=True)
class Target:
    name: str
    group: str
    value: float
    unit: str
    source: str


def thesis_2012_2017() -> list[Target]:
    seiz = read_table("seizures_2012_2017.csv")
    out = []
    for drug, row in SEIZURE_ROWS.items():
        for year in YEARS:
            kg = float(seiz[(seiz["drug"] == row) & (seiz["year"] == year)]["kg"].iloc[0])
            group = "heroin seizures" if drug == "heroin" else "cannabis seizures"
            out.append(Target(f"seized_{drug}_{year}", group, kg, "kg", f"Table 5.5 ({row}), thesis L1361-1370"))
    prices = read_table("prices_2012.csv")
    avg = prices[prices["stat"] == "average"]
    for _, r in avg.iterrows():
        out.append(Target(f"price_{r['substance']}_{r['level']}_2012", "prices 2012", float(r["value_kzt_per_g"]),
                          "KZT/g", "Table 5.6 average, thesis L1382-1392"))
    out.append(Target("heroin_retail_price_2016_over_2012", "heroin price trend", TREND, "ratio",
                      "six-fold 2010-2016 (CADAP), thesis L1378, L2031; 2012-2016 part derived"))
    return out


ENFORCEMENT = "enforcement volume"
L1908 = "thesis L1908 (the General Prosecutor's office on the police's figures for 2017, Mukhamedzhanov 2017)"


def records_2012_2017() -> list[Target]:
    """thesis-2012-2017 and the enforcement on record, as a group of its own."""
    crimes = read_table("drug_crimes_2015_2017.csv")
    return thesis_2012_2017() + [
        *(Target(f"registered_crimes_{r.year}", ENFORCEMENT, float(r.crimes), "crimes", r.source)
          for r in crimes.itertuples()),
        Target("sale_crimes_2017", ENFORCEMENT, 2266.0, "crimes", f"{L1908}: drug-related crimes identified"),
        Target("dealers_prosecuted_2017", ENFORCEMENT, 733.0, "persons", f"{L1908}: drug dealers sent to court")]


TARGETS = {"thesis-2012-2017": thesis_2012_2017, "records-2012-2017": records_2012_2017}


def statistics(ts: pd.DataFrame, scale: float) -> dict[str, float]:
    """The model's value of every target of every set, from one run's time series."""
    year = pd.to_datetime(ts["date"]).dt.year
    nat = ts[ts["place"] == "KZ"]
    yr = year[nat.index]
    out: dict[str, float] = {}
    seized = nat[(nat["metric"] == "seizures_total_g") & (nat["world"] == "recorded")]
    by_year = seized.groupby([yr[seized.index], seized["substance"]], observed=True)["value"].sum()
    for drug in SEIZURE_ROWS:
        for y in YEARS:
            out[f"seized_{drug}_{y}"] = float(by_year.get((y, drug), np.nan)) / 1000 / scale
    price = nat[(nat["metric"] == "price") & (nat["world"] == "true")]
    mean = price.groupby([yr[price.index], price["substance"], price["level"]], observed=True)["value"].mean()
    for drug in SEIZURE_ROWS:
        for level in ("wholesale", "retail"):
            out[f"price_{drug}_{level}_2012"] = float(mean.get((2012, drug, level), np.nan))
    for metric in ("registered_crimes", "sale_crimes", "dealers_prosecuted"):
        rows = nat[(nat["metric"] == metric) & (nat["world"] == "recorded")]
        per_year = rows.groupby(yr[rows.index])["value"].sum()
        for y in YEARS:
            out[f"{metric}_{y}"] = float(per_year.get(y, np.nan)) / scale
    out["heroin_retail_price_2016_over_2012"] = float(mean.get((2016, "heroin", "retail"), np.nan)
                                                      / mean.get((2012, "heroin", "retail"), np.nan))
    return out


FLOOR = 0.05  # share of a target added to both sides of the log-ratio, so a zero (no seizure that year) is a
# bounded miss (about a factor of 20) rather than an infinite one


def distance(stats: dict[str, float], targets: list[Target]) -> float:
    """Mean over groups of the mean squared log-ratio model/target (with a floor of 5% of the target on both
    sides; a missing model value counts as zero)."""
    per_group: dict[str, list[float]] = {}
    for t in targets:
        v = stats.get(t.name, np.nan)
        v = max(float(v), 0.0) if np.isfinite(v) else 0.0
        err = np.log((v + FLOOR * t.value) / ((1 + FLOOR) * t.value)) ** 2
        per_group.setdefault(t.group, []).append(err)
    return float(np.mean([np.mean(v) for v in per_group.values()]))


def fit_table(targets: list[Target], columns: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Targets beside model values (e.g. defaults and calibrated)."""
    rows = [{"target": t.name, "group": t.group, "unit": t.unit, "recorded": t.value,
             **{k: v.get(t.name, np.nan) for k, v in columns.items()}, "source": t.source} for t in targets]
    return pd.DataFrame(rows)
