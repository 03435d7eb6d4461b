"""Series built from the metric list, true vs recorded, seeds pooled: shared by the dashboard, the
comparison report (`northroute report A B`) and `northroute compare A B`.

Nothing here names a metric of today's model except as an example: `national_series` aggregates any
(metric, level) by its unit from `record.METRICS` (persons and grams add up over places; prices and
fractions take the national `KZ` row, or the mean over places when there is none), so metrics added
later (arrests, prison, bribes, with world=recorded beside world=true) are drawn without code changes.
The exception is `CLAIMS`: the outcomes the thesis makes claims about, each with its claim, compared
over a period (`Period`) with paired differences and t-intervals (`claims_table`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from northroute.experiments.outputs import WEEKS_PER_YEAR, heroin_unmet_need
from northroute.record import METRICS, ROLE_LEVELS
from northroute.report import enforcement, figures
from northroute.results import Results, price_warning, run_price_peaks
from northroute.scenario import last_monday, step_text
from northroute.world.geography import load_geography
from northroute.world.people import SUBSTANCE_NAMES

NOT_ADDITIVE = ("KZT/g", "fraction", "ratio", "KZT", "probability")
GROUP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
WORLD_DASH = {"true": "solid", "recorded": "dash"}


def metric_info(metric: str, level: str) -> tuple[str, str]:
    """(unit, meaning) of a metric from the metric list; unknown metrics get empty strings."""
    for m in METRICS:
        if (m.name, m.level) == (metric, level):
            return m.unit, m.doc
    return "", ""


def metric_pairs(ts: pd.DataFrame) -> list[tuple[str, str]]:
    """Every (metric, level) present in a time series, in the order of the metric list, unknown ones last."""
    present = set(map(tuple, ts[["metric", "level"]].drop_duplicates().astype(str).to_numpy()))
    known = list(dict.fromkeys((m.name, m.level) for m in METRICS))
    return [p for p in known if p in present] + sorted(present - set(known))


def worlds(ts: pd.DataFrame, metric: str, level: str) -> list[str]:
    """The worlds (true, recorded) in which a metric has rows."""
    sel = ts[(ts["metric"] == metric) & (ts["level"] == level)]
    return [w for w in ("true", "recorded") if (sel["world"] == w).any()]


def national_how(ts: pd.DataFrame, metric: str, level: str) -> str:
    """How `national_series` makes one national value of a metric, in words for a caption."""
    if ((ts["metric"] == metric) & (ts["level"] == level) & (ts["place"] == "KZ")).any():
        return "national"
    unit, _ = metric_info(metric, level)
    return "unweighted mean of the places" if unit in NOT_ADDITIVE else "sum over the places"


def national_series(ts: pd.DataFrame, metric: str, level: str) -> pd.DataFrame:
    """One value per week, substance and world: the national row `KZ` when the metric has one, else the sum
    over places (additive units) or their unweighted mean (prices, fractions: not what a national figure weighted
    by stock or users would give, so captions say so, `national_how`)."""
    df = ts[(ts["metric"] == metric) & (ts["level"] == level)]
    if (df["place"] == "KZ").any():
        df = df[df["place"] == "KZ"]
    unit, _ = metric_info(metric, level)
    how = "mean" if unit in NOT_ADDITIVE else "sum"
    out = df.groupby(["world", "substance", "week"], observed=True).agg(date=("date", "first"), value=("value", how))
    return out.reset_index()


def _pooled(runs: Sequence[pd.DataFrame], metric: str, level: str) -> pd.DataFrame:
    """Mean, min and max over seeds of the national series (per world, substance, week)."""
    parts = [national_series(ts, metric, level).assign(seed=k) for k, ts in enumerate(runs)]
    df = pd.concat(parts, ignore_index=True)
    g = df.groupby(["world", "substance", "week"], observed=True)
    out = g.agg(date=("date", "first"), mean=("value", "mean"), lo=("value", "min"), hi=("value", "max"),
                n=("value", "size"))
    return out.reset_index()


def trend_figure(groups: dict[str, Sequence[pd.DataFrame]], metric: str, level: str, height: int = 380) -> go.Figure:
    """The national series of one metric, a panel per substance: a line per group (one run, or the mean over
    seeds with a band from the lowest to the highest seed), solid for world=true, dashed for world=recorded."""
    unit, doc = metric_info(metric, level)
    pooled = {label: _pooled(runs, metric, level) for label, runs in groups.items() if runs}
    subs = [s for s in (*SUBSTANCE_NAMES, "all") if any((p["substance"] == s).any() for p in pooled.values())]
    subs = subs or list(SUBSTANCE_NAMES)  # police series are kept under "all": one panel
    fig = make_subplots(rows=1, cols=len(subs), subplot_titles=subs, horizontal_spacing=0.06)
    single = len(pooled) == 1
    for g, (label, df) in enumerate(pooled.items()):
        for col, sub in enumerate(subs, start=1):
            colour = figures.SUBSTANCE_COLOURS.get(sub, "#555") if single else GROUP_COLOURS[g % len(GROUP_COLOURS)]
            for world in ("true", "recorded"):
                part = df[(df["substance"] == sub) & (df["world"] == world)]
                if part.empty:
                    continue
                name = f"{label} · {world}" if not single else world
                seeds = int(part["n"].max())
                if seeds > 1:
                    fig.add_trace(go.Scatter(
                        x=pd.concat([part["date"], part["date"][::-1]]), y=pd.concat([part["hi"], part["lo"][::-1]]),
                        fill="toself", fillcolor=_rgba(colour, 0.15), line={"width": 0}, hoverinfo="skip",
                        showlegend=False, legendgroup=name), row=1, col=col)
                what = f"mean of {seeds} seeds" if seeds > 1 else "one run"
                fig.add_trace(go.Scatter(
                    x=part["date"], y=part["mean"], mode="lines", name=name, legendgroup=name,
                    showlegend=col == 1, line={"color": colour, "dash": WORLD_DASH[world], "width": 2},
                    hovertemplate=f"{html.escape(name)} ({what})<br>%{{x|%Y-%m-%d}}: %{{y:,.4g}} {unit}"
                                  f"<extra>{sub}</extra>"), row=1, col=col)
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(title_text=unit or "value", row=1, col=1)
    fig.update_layout(template=figures.TEMPLATE, height=height, margin={"t": 40, "r": 20, "b": 30, "l": 60},
                      legend={"orientation": "h", "y": -0.15}, meta={"metric": metric, "level": level, "doc": doc})
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def outcomes(ts: pd.DataFrame) -> pd.Series:
    """The headline numbers of one run (world=true): the report's summary table and the mean national prices,
    indexed by (substance, measure)."""
    ts = ts[ts["world"] == "true"]
    tab = figures.summary_table(ts)
    prices = figures.national_prices(ts).groupby(["substance", "level"], observed=True)["value"].mean()
    for (sub, level), v in prices.items():
        tab.loc[sub, f"mean {level} price (KZT/g)"] = v
    out = tab.stack(future_stack=True).rename("value")
    out.index.names = ["substance", "measure"]
    return out


INTERVAL = 0.9  # two-sided level of the t-intervals below
# The values an outcome in each unit can take; a t-interval of a mean over few seeds can reach past them
# (a negative count), so the claims table cuts its sides' intervals to them (not B − A, which may be negative).
UNIT_RANGE = {"per year": (0.0, np.inf), "officers": (0.0, np.inf), "persons": (0.0, np.inf), "fraction": (0.0, 1.0),
              "KZT/g": (0.0, np.inf), "weeks": (0.0, np.inf), "kg/year": (0.0, np.inf), "M KZT/year": (0.0, np.inf)}


def t_interval(values: pd.DataFrame, level: float = INTERVAL) -> pd.DataFrame:
    """Per row of a (measure x run) table: the mean over runs and the Student-t interval of that mean at `level`
    (mean ± t(n−1) · sd / √n, missing values left out; no interval with fewer than two values)."""
    from scipy.special import stdtrit  # the t quantile, without importing all of scipy.stats

    n = values.notna().sum(axis=1)
    mean = values.mean(axis=1)
    dof = (n - 1).to_numpy(dtype=float)
    t = np.full(len(n), np.nan)
    ok = dof >= 1
    t[ok] = stdtrit(dof[ok], 0.5 + level / 2)
    half = t * values.std(axis=1, ddof=1).fillna(0.0).to_numpy() / np.sqrt(n.clip(lower=1).to_numpy())
    return pd.DataFrame({"mean": mean, "lo": mean - half, "hi": mean + half, "n": n})


def compare_outcomes(a: Sequence[Any], b: Sequence[Any], measure: Callable[[Any], pd.Series] = outcomes,
                     intervals: bool = False, paired: bool = False) -> pd.DataFrame:
    """A vs B over seeds: means, lowest and highest seed, the difference of means and whether the seed ranges
    are apart (a plain, not a statistical, sign that the difference is larger than the seed-to-seed noise).

    `measure` turns one run (a time series for `outcomes`) into a Series of numbers. With `intervals`, each
    side also gets the t-interval of its mean (`t_interval`, "A lo", "A hi", ...). With `paired`, run k of A
    and run k of B share a seed (common random numbers): "B − A" becomes the mean of the paired differences,
    with its t-interval ("B − A lo", "B − A hi") and the number of pairs."""
    sa = pd.concat([measure(t) for t in a], axis=1, ignore_index=True)
    sb = pd.concat([measure(t) for t in b], axis=1, ignore_index=True)
    out = pd.DataFrame({
        "A mean": sa.mean(axis=1), "A lowest": sa.min(axis=1), "A highest": sa.max(axis=1),
        "B mean": sb.mean(axis=1), "B lowest": sb.min(axis=1), "B highest": sb.max(axis=1),
    })
    out["B − A"] = out["B mean"] - out["A mean"]
    out["B vs A %"] = np.where(out["A mean"].abs() > 0, 100 * out["B − A"] / out["A mean"].abs(), np.nan)
    if len(a) > 1 and len(b) > 1:
        apart = (out["B lowest"] > out["A highest"]) | (out["B highest"] < out["A lowest"])
        out["seed ranges apart"] = np.where(apart, "yes", "no")
    if intervals or paired:
        for side, values in (("A", sa), ("B", sb)):
            ci = t_interval(values)
            out[f"{side} lo"], out[f"{side} hi"] = ci["lo"], ci["hi"]
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired sides need as many runs each, got {len(a)} and {len(b)}")
        ci = t_interval(sb - sa)
        out["B − A"], out["B − A lo"], out["B − A hi"], out["pairs"] = ci["mean"], ci["lo"], ci["hi"], ci["n"]
    return out


# ----------------------------------------------------------------------- the thesis's claims over a period


@dataclass(frozen=True)
class Period:
    """Recorded weeks first_week..last_week (inclusive) of a comparison, their dates, and why these weeks."""

    first_week: int
    last_week: int
    start: date
    end: date
    basis: str

    @property
    def weeks(self) -> int:
        return self.last_week - self.first_week + 1

    def describe(self) -> str:
        return f"{self.start} to {self.end} ({self.weeks} weeks): {self.basis}"


def differing_dates(b_steps: Sequence[dict[str, Any]], a_steps: Sequence[dict[str, Any]] = ()) -> list[date]:
    """Dates of the timeline steps that one side has and the other has not with the same date and values: where
    the two sides start to differ. The steps B inherits from A (a scenario extending A), or A from B, change
    nothing between them."""
    def key(step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return str(step.get("date"))[:10], step.get("set") or {}

    ka, kb = [key(step) for step in a_steps], [key(step) for step in b_steps]
    apart = [k for k in kb if k not in ka] + [k for k in ka if k not in kb]
    return sorted(date.fromisoformat(when) for when, _ in apart)


def claim_period(start: date, weeks: int, timeline: Sequence[date] = (), from_year: int | None = None) -> Period:
    """The weeks to compare: from 1 January of `from_year`; else from the first timeline date at which the two
    sides differ (`differing_dates`: when the change starts); else, or when that date is after the run, the last
    half of the run. Weeks are recorded weeks (week 0 starts on `start`). A `from_year` with no recorded week
    raises ValueError."""
    last = max(1, weeks) - 1

    def first_on_or_after(d: date) -> int:
        return max(0, -(-(d - start).days // 7))

    def period(first: int, basis: str) -> Period:
        return Period(first, last, start + timedelta(weeks=first), start + timedelta(weeks=last), basis)

    end_year = (start + timedelta(weeks=last)).year
    if from_year is not None:
        if not start.year <= from_year <= end_year:
            raise ValueError(f"--from-year must be a recorded year, {start.year} to {end_year}, got {from_year}")
        return period(first_on_or_after(date(from_year, 1, 1)), f"from 1 January {from_year} (--from-year)")
    if timeline:
        first_date = min(timeline)
        if first_date <= last_monday(start, weeks):
            return period(first_on_or_after(first_date), f"from the first timeline step the two sides do not share, "
                                                         f"{first_date}")
        return period(weeks // 2, f"the last half of the run (the first timeline step the two sides do not share, "
                                  f"{first_date}, is after its end)")
    return period(weeks // 2, "the last half of the run (the two sides' timelines are the same)")


def period_of(b: Results, from_year: int | None = None, a: Results | None = None) -> Period:
    """`claim_period` for a comparison, from the manifests of B's first run and A's (the timeline steps both
    share do not start the change)."""
    sc = b.manifest.get("scenario", {}) or {}
    start = date.fromisoformat(str((sc.get("time") or {}).get("start")))
    weeks = int(b.manifest.get("weeks_recorded") or b.timeseries["week"].max() + 1)
    a_steps = ((a.manifest.get("scenario", {}) or {}).get("timeline") or []) if a is not None else []
    return claim_period(start, weeks, differing_dates(sc.get("timeline") or [], a_steps), from_year)


Value = Callable[[pd.DataFrame, float, float], float]  # (the period's time series, scale, years) -> value


@dataclass(frozen=True)
class ClaimOutcome:
    """One outcome compared by `northroute compare`, with what the thesis claims about it (if anything)."""

    key: str
    label: str
    unit: str
    value: Value
    claim: str = ""
    sign: int = 0  # the claimed direction of B − A: +1 rises, -1 falls, 0 no claim


def _weekly(ts: pd.DataFrame, metric: str, levels: Sequence[str], world: str = "true",
            substance: str | tuple[str, ...] | None = None) -> pd.Series:
    """The national value per week (`national_series`), summed over levels and substances (or the given ones)."""
    parts = [national_series(ts, metric, lv) for lv in levels]
    df = pd.concat(parts, ignore_index=True)
    df = df[df["world"] == world]
    if substance is not None:
        df = df[df["substance"].isin((substance,) if isinstance(substance, str) else substance)]
    return df.groupby("week")["value"].sum()


def _per_year(metric: str, level: str | tuple[str, ...], world: str = "true",
              substance: str | tuple[str, ...] | None = None, factor: float = 1.0) -> Value:
    """A weekly count (summed over levels, if several) as a yearly rate over the period, national equivalent
    (÷ scale)."""
    levels = (level,) if isinstance(level, str) else level

    def value(ts: pd.DataFrame, scale: float, years: float) -> float:
        w = _weekly(ts, metric, levels, world, substance)
        return float(w.sum()) * factor / scale / years if len(w) else np.nan

    return value


def _mean(metric: str, levels: Sequence[str], substance: str | None = None, people: bool = True) -> Value:
    """The mean over the period's weeks of a state (national equivalent if it counts people)."""
    def value(ts: pd.DataFrame, scale: float, years: float) -> float:
        w = _weekly(ts, metric, levels, "true", substance)
        return float(w.mean()) / (scale if people else 1.0) if len(w) else np.nan

    return value


def _price(level: str, substance: str) -> Value:
    """The mean national (user-weighted) price over the period, weeks without users left out."""
    def value(ts: pd.DataFrame, scale: float, years: float) -> float:
        p = figures.national_prices(ts[ts["world"] == "true"])
        return float(p.loc[(p["level"] == level) & (p["substance"] == substance), "value"].mean())

    return value


def _career(level: str) -> Value:
    """Mean career of those who left in the period: their summed weeks in the role ÷ their number."""
    def value(ts: pd.DataFrame, scale: float, years: float) -> float:
        left = _weekly(ts, "leavers", (level,)).sum()
        return float(_weekly(ts, "tenure_weeks", (level,)).sum() / left) if left > 0 else np.nan

    return value


def _unmet_need(ts: pd.DataFrame, scale: float, years: float) -> float:
    return heroin_unmet_need(ts[ts["world"] == "true"], scale)


PLURAL = {"user": "users", "retail": "retail dealers", "wholesale": "wholesalers", "trafficking": "traffickers"}
CHARGE = {"user": "possession", "retail": "sale", "wholesale": "organised sale", "trafficking": "smuggling"}
RISES, FALLS = 1, -1
CLAIMS: tuple[ClaimOutcome, ...] = (
    ClaimOutcome("corruption_cases", "corruption cases (recorded)", "per year",
                 _per_year("corruption_cases", "police", "recorded"), "rise after the switch (SF27, L1702-1704)",
                 RISES),
    ClaimOutcome("corruption_convictions", "corrupt officers convicted", "per year",
                 _per_year("corruption_convictions", "police"), "rise after the switch (SF27, L1702-1704)", RISES),
    ClaimOutcome("corrupt_officers", "corrupt officers serving", "officers", _mean("corrupt_officers", ("police",))),
    ClaimOutcome("protected_wholesalers", "protected wholesalers", "persons",
                 _mean("protected_dealers", ("wholesale",)), "fall (SF29, L2081)", FALLS),
    ClaimOutcome("protected_share_heroin", "protected share of heroin retail volume", "fraction",
                 _mean("protected_share", ("retail",), "heroin", people=False),
                 "falls: former protectors gone (SF29, L2081)", FALLS),
    ClaimOutcome("heroin_retail_price", "heroin retail price", "KZT/g", _price("retail", "heroin"),
                 "rises (SF17, L1378)", RISES),
    ClaimOutcome("heroin_wholesale_price", "heroin wholesale price", "KZT/g", _price("wholesale", "heroin")),
    ClaimOutcome("active_wholesalers", "active wholesalers (market disruption)", "persons",
                 _mean("dealers", ("wholesale",)), "disrupted: fewer (L1890 [DE3])", FALLS),
    ClaimOutcome("vory_clients", "wholesalers who are Vory clients", "persons",
                 _mean("vory_clients", ("wholesale",))),
    ClaimOutcome("retail_career_weeks", "retail dealer career (mean of leavers)", "weeks", _career("retail"),
                 "shorter (SF30, L1890 [DE3])", FALLS),
    ClaimOutcome("heroin_unmet_need", "unmet need of heroin users", "fraction", _unmet_need),
    *(ClaimOutcome(f"arrests_{lv}", f"arrests of {PLURAL[lv]} (true: by role)", "per year", _per_year("arrests", lv))
      for lv in ROLE_LEVELS),
    ClaimOutcome("arrests_user_heroin", "arrests of heroin users", "per year", _per_year("arrests", "user",
                                                                                       substance="heroin")),
    ClaimOutcome("arrests_user_cannabis", "arrests of cannabis users (marijuana and hashish)", "per year",
                 _per_year("arrests", "user", substance=("marijuana", "hashish"))),
    *(ClaimOutcome(f"recorded_arrests_{lv}", f"arrests charged with {CHARGE[lv]} (recorded)", "per year",
                   _per_year("arrests", lv, "recorded")) for lv in ROLE_LEVELS),
    ClaimOutcome("released_no_case", "people picked and let go, holding no crime (possession below the small "
                 "amount)", "per year", _per_year("released_no_case", ("user", "retail"))),
    ClaimOutcome("prison_population", "drug offenders in prison", "persons", _mean("inmates", ROLE_LEVELS)),
    ClaimOutcome("prisoners_user", "users in prison (role at arrest)", "persons", _mean("inmates", ("user",))),
    ClaimOutcome("prisoners_retail", "retail dealers in prison (role at arrest)", "persons",
                 _mean("inmates", ("retail",))),
    ClaimOutcome("heroin_users", "people using heroin (users and dealers who use)", "persons",
                 _mean("users", ("user",), "heroin")),
    ClaimOutcome("retail_dealers", "active retail dealers", "persons", _mean("dealers", ("retail",))),
    ClaimOutcome("recorded_drug_crimes", "drug crimes registered (recorded)", "per year",
                 _per_year("registered_crimes", "police", "recorded")),
    ClaimOutcome("heroin_exported_kg", "heroin sold on into Russia", "kg/year",
                 _per_year("exports_g", "trafficking", substance="heroin", factor=1e-3)),
    ClaimOutcome("heroin_consumed_kg", "heroin consumed in Kazakhstan (street grams)", "kg/year",
                 _per_year("consumption_g", "user", substance="heroin", factor=1e-3)),
    ClaimOutcome("heroin_seized_kg", "heroin seized (recorded)", "kg/year",
                 _per_year("seizures_total_g", "police", "recorded", "heroin", factor=1e-3),
                 "falls (SF20, L1365-1367; L2031)", FALLS),
    ClaimOutcome("officer_tenure_weeks", "drug officers' time in post", "weeks",
                 _mean("officer_tenure_weeks", ("police",), people=False), "shorter (SF30, L1888 [P3])", FALLS),
    ClaimOutcome("bribes_mkzt", "bribes and protection paid", "M KZT/year",
                 _per_year("bribes_kzt", "police", factor=1e-6)),
    ClaimOutcome("protection_mkzt", "protection paid by wholesalers (part of the above)", "M KZT/year",
                 _per_year("protection_kzt", "wholesale", factor=1e-6)),
    ClaimOutcome("protection_heroin_mkzt", "protection paid by heroin wholesalers", "M KZT/year",
                 _per_year("protection_kzt", "wholesale", substance="heroin", factor=1e-6)),
)


def claim_outcomes(results: Results, period: Period) -> pd.Series:
    """Every `CLAIMS` outcome of one run over the period's weeks (counts as national equivalents)."""
    ts = results.timeseries
    ts = ts[(ts["week"] >= period.first_week) & (ts["week"] <= period.last_week)]
    scale = _scale(results)
    weeks = ts["week"].nunique()
    if not weeks:
        return pd.Series(np.nan, index=[c.key for c in CLAIMS], name="value")
    return pd.Series({c.key: c.value(ts, scale, weeks / WEEKS_PER_YEAR) for c in CLAIMS}, name="value")


def _seed(r: Results) -> Any:
    return r.manifest.get("seed")


def _scale(r: Results) -> float:
    return float(((r.manifest.get("scenario") or {}).get("population") or {}).get("scale", 1.0))


def _run_name(r: Results) -> str:
    return r.run_dir.name if r.run_dir else f"the run of seed {_seed(r)}"


def check_side(runs: Sequence[Results], side: str) -> None:
    """Refuse (ValueError, one line) a side whose runs are not seeds of one scenario with one set of settings:
    pooling them would average unlike runs, and a seed saved twice (a `-2` copy) would count one run twice."""
    first = runs[0]
    for r in runs[1:]:
        name_a, name_b = ((x.manifest.get("scenario") or {}).get("name") for x in (first, r))
        diffs = [("name", str(name_a), str(name_b))] if name_a != name_b else []
        diffs += scenario_differences(first, r)
        if diffs:
            key, x, y = diffs[0]
            short = len(x + y) <= 60 and "\n" not in x + y  # the refusal is one line
            what = (f"{key} is {x} in {_run_name(first)} but {y} in {_run_name(r)}" if short else
                    f"{key} differs between {_run_name(first)} and {_run_name(r)}")
            more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
            raise ValueError(f"side {side} mixes runs of different settings: {what}{more}; a side must be the seeds "
                             "of one scenario with one set of settings")
    seen: dict[str, str] = {}
    for r in runs:
        seed = str(_seed(r))
        if seed in seen:
            raise ValueError(f"side {side} has seed {seed} twice ({seen[seed]} and {_run_name(r)}): the same run "
                             "would count twice; keep one of them")
        seen[seed] = _run_name(r)


def check_sides(a: Sequence[Results], b: Sequence[Results]) -> list[str]:
    """`check_side` for A and B, then why their simulated totals do not compare as they stand: one line per
    setting they must share but do not (population scale, start, weeks recorded); [] when they share all."""
    check_side(a, "A")
    check_side(b, "B")
    ma, mb = a[0].manifest, b[0].manifest
    start_a, start_b = (((m.get("scenario") or {}).get("time") or {}).get("start") for m in (ma, mb))
    weeks_a, weeks_b = ma.get("weeks_recorded"), mb.get("weeks_recorded")
    out = []
    if _scale(a[0]) != _scale(b[0]):
        out.append(f"A ran at population scale {_scale(a[0]):g} and B at {_scale(b[0]):g}: their simulated totals "
                   "and series do not compare as they stand (divide each by its scale); the claims table's national "
                   "equivalents do")
    if start_a != start_b:
        out.append(f"A starts on {start_a} and B on {start_b}: the same recorded week is a different date on each "
                   "side")
    if weeks_a != weeks_b:
        out.append(f"A recorded {weeks_a} weeks and B {weeks_b}: totals over the run do not compare; the claims "
                   "table's rates per year and means per week do")
    return out


def price_spirals(runs: Sequence[Results], side: str) -> list[str]:
    """`run`'s price warnings (`results.run_price_peaks`) for one side of a comparison: per drug and level, how
    many of its seeds flag a price, and the highest of them, so a comparison does not show, unflagged, numbers
    that `run` calls beyond the evidence."""
    peaks = [run_price_peaks(r.timeseries).assign(seed=str(_seed(r))) for r in runs]
    peaks = pd.concat(peaks, ignore_index=True)
    out = []
    for _, g in peaks.groupby(["substance", "level"], sort=False):
        top = g.loc[g["rise"].idxmax()]
        seeds = (f"{g['seed'].nunique()} of {len(runs)} seeds; the highest, seed {top['seed']}" if len(runs) > 1
                 else f"seed {top['seed']}")
        out.append(f"{side} ({seeds}): {price_warning(top.to_dict())}")
    return out


def comparison_warnings(a: Sequence[Results], b: Sequence[Results]) -> list[str]:
    """`check_sides`, then each side's `price_spirals`."""
    return check_sides(a, b) + price_spirals(a, "A") + price_spirals(b, "B")


STRATEGY_KEY = "anticorruption.detect_rate"  # what the strategy raises at every step (anticorruption-2015)
SMALL_SCALE = 0.1  # below it the force, a line officer and a manager per region at least, is lumpy (ODD lim. 4)


def small_scale_note(scale: float) -> str:
    """A warning for runs below `SMALL_SCALE` (ODD limitation 4), or ''."""
    if scale >= SMALL_SCALE:
        return ""
    return (f"At scale {scale:g} the police force is rounded region by region, with at least one line officer in "
            "each (16 against 6 at scale 0.01, 28 against 30 at 0.05) and one manager in each at any scale, so "
            "arrests, corruption and bribes rest on a few officers per region, and corrupt officers, managers "
            "included, run high (baseline 2012, seed 1: 943 national equivalents at 0.05 against 822 at 0.2; "
            "docs/ODD.md, limitation 4); use a scale of 0.1 or more for counts.")
NOT_JUDGED = ("'as claimed' is left blank: the thesis's claims are about adding the anti-corruption strategy, and B "
              "never detects corruption more than A within the run (anticorruption.detect_rate), so B − A is not that "
              "change")


def strategy_strength(results: Results) -> float:
    """The highest rate of corruption detection a run's scenario reaches, at the start or on a timeline step that
    falls inside the run (a step after its last week never acted)."""
    sc = results.manifest.get("scenario", {}) or {}
    section, key = STRATEGY_KEY.split(".")
    end = pd.to_datetime(results.timeseries["date"]).max()
    steps = [ev for ev in sc.get("timeline", []) if pd.Timestamp(ev.get("date")) <= end]
    values = [sc.get(section, {}).get(key), *((ev.get("set") or {}).get(STRATEGY_KEY) for ev in steps)]
    return max((float(v) for v in values if v is not None), default=0.0)


def claims_apply(a: Sequence[Results], b: Sequence[Results]) -> bool:
    """Are the thesis's claims a test of B − A? They say what the anti-corruption strategy does (SF17-SF30), so
    only when B has more of it than A: a pair like baseline vs route interdiction, or the reform vs the reform
    plus other policies, is not judged against them."""
    return max(map(strategy_strength, b)) > max(map(strategy_strength, a))


def claims_table(a: Sequence[Results], b: Sequence[Results], period: Period) -> pd.DataFrame:
    """A vs B on the `CLAIMS` outcomes over `period`: per side the mean over seeds with its t-interval, and the
    difference B − A. When both sides ran the same seeds (common random numbers) the difference is paired by
    seed, with its t-interval; "as claimed" is "yes" when B − A has the thesis's claimed sign and its interval
    excludes 0, "no" otherwise, "n/a" without an interval (one seed, or seeds that do not pair); blank for every
    outcome when the claims do not apply to this pair (`claims_apply`). Sides that are not one scenario each raise
    ValueError; sides at other scales, starts or lengths, and prices beyond the evidence, are compared with
    warnings (attrs, `comparison_warnings`)."""
    warnings = comparison_warnings(a, b)
    a = sorted(a, key=lambda r: str(_seed(r)))
    b = sorted(b, key=lambda r: str(_seed(r)))
    seeds_a, seeds_b = [_seed(r) for r in a], [_seed(r) for r in b]
    paired = seeds_a == seeds_b and len(set(map(str, seeds_a))) == len(seeds_a)
    comp = compare_outcomes(a, b, lambda r: claim_outcomes(r, period), intervals=True, paired=paired)
    if not paired:
        comp["B − A lo"] = comp["B − A hi"] = np.nan
        comp["pairs"] = 0
    out = pd.DataFrame({"outcome": [c.label for c in CLAIMS], "unit": [c.unit for c in CLAIMS]},
                       index=pd.Index([c.key for c in CLAIMS], name="key"))
    cols = ["A mean", "A lo", "A hi", "B mean", "B lo", "B hi", "B − A", "B − A lo", "B − A hi", "pairs"]
    out = out.join(comp[cols])
    low, high = (out["unit"].map(lambda u, k=k: UNIT_RANGE.get(u, (-np.inf, np.inf))[k]) for k in (0, 1))
    for side in ("A", "B"):
        out[f"{side} lo"] = out[f"{side} lo"].clip(lower=low, upper=high)
        out[f"{side} hi"] = out[f"{side} hi"].clip(lower=low, upper=high)
    sign = pd.Series({c.key: c.sign for c in CLAIMS})
    out["thesis claim"] = [c.claim for c in CLAIMS]
    known = out["B − A lo"].notna() & out["B − A hi"].notna()
    agrees = ((sign > 0) & (out["B − A lo"] > 0)) | ((sign < 0) & (out["B − A hi"] < 0))
    judged = claims_apply(a, b)
    out["as claimed"] = np.where((sign == 0) | (not judged), "", np.where(~known, "n/a", np.where(agrees, "yes", "no")))
    out.attrs.update(period=period.describe(), paired=paired, judged=judged, warnings=warnings,
                     scale_note=small_scale_note(min(map(_scale, [*a, *b]))),
                     interval=f"{INTERVAL:.0%} t-interval of the mean over seeds (Student t, seeds − 1 d.f.; A's "
                              "and B's cut at 0, and fractions at 1, which the outcomes cannot pass)",
                     pairing="B − A paired by seed (common random numbers)" if paired else
                     "B − A not paired: the two sides ran different seeds, so it has no interval")
    return out


def number(v: Any) -> str:
    """A number for a table: thousands separated, small values with three significant digits; — if missing."""
    if isinstance(v, str):
        return v
    if v is None or not isinstance(v, int | float | np.integer | np.floating) or not np.isfinite(v):
        return "—"
    if abs(v) < 1e-9:  # rounding noise of sums that are 0 (e.g. recorded = true − resold grams)
        v = 0.0
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10 or v == 0:
        return f"{v:,.1f}"
    return f"{v:.3g}"


def with_interval(mean: float, lo: float, hi: float) -> str:
    """`mean [lo, hi]`, or the mean alone without an interval."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return number(mean)
    return f"{number(mean)} [{number(lo)}, {number(hi)}]"


def claims_rows(table: pd.DataFrame) -> list[list[str]]:
    """The claims table as text cells: outcome, unit, A, B, B − A (each mean [interval]), claim, as claimed."""
    return [[r["outcome"], r["unit"], with_interval(r["A mean"], r["A lo"], r["A hi"]),
             with_interval(r["B mean"], r["B lo"], r["B hi"]), with_interval(r["B − A"], r["B − A lo"], r["B − A hi"]),
             r["thesis claim"], r["as claimed"]] for _, r in table.iterrows()]


CLAIMS_HEAD = ("outcome", "unit", "A", "B", "B − A", "thesis claim", "as claimed")


def claims_json(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The claims table as JSON-ready rows: key, outcome, unit, a/b/diff {mean, lo, hi}, claim, claimed sign."""
    def num(v: Any) -> float | None:
        return float(v) if v is not None and np.isfinite(v) else None

    sign = {c.key: c.sign for c in CLAIMS}
    return [{"key": key, "outcome": r["outcome"], "unit": r["unit"],
             **{side: {"mean": num(r[f"{col} mean" if col != "B − A" else col]), "lo": num(r[f"{col} lo"]),
                       "hi": num(r[f"{col} hi"])} for side, col in (("a", "A"), ("b", "B"), ("diff", "B − A"))},
             "pairs": int(r["pairs"]), "claim": r["thesis claim"] or None,
             "claimed_sign": sign[key] or None, "as_claimed": r["as claimed"] or None}
            for key, r in table.iterrows()]


# --------------------------------------------------------------------------------- the comparison report

KEY_TRENDS = (("route_flow_g", "trafficking"), ("price", "wholesale"), ("price", "retail"),
              ("seizures_g", "trafficking"), ("users", "user"), ("dealers", "retail"), ("dealers", "wholesale"))


def _fmt(v: float) -> str:
    return html.escape(number(v))


def _lines(text: str) -> str:
    """Text for an HTML cell, its lines (a timeline's steps) kept apart."""
    return html.escape(text).replace("\n", "<br>")


def _meta(results: Sequence[Results]) -> dict[str, str]:
    m = results[0].manifest or {}
    sc = m.get("scenario", {}) or {}
    return {
        "scenario": str(sc.get("name", "n/a")),
        "description": str(sc.get("description", "")),
        "seeds": ", ".join(str(r.manifest.get("seed", "?")) for r in results),
        "population scale": str((sc.get("population") or {}).get("scale", "n/a")),
        "start": str((sc.get("time") or {}).get("start", "n/a")),
        "weeks recorded": str(m.get("weeks_recorded", "n/a")),
        "code version": str(m.get("code_version", "n/a")),
        "folder": ", ".join(r.run_dir.name if r.run_dir else "?" for r in results),
    }


def timeline_text(steps: Sequence[dict[str, Any]] | None) -> str:
    """A manifest's timeline for a reader, one step a line as the run report's header gives it (`step_text`:
    notes left out), or '—' for none."""
    return "\n".join(step_text(ev.get("date"), ev.get("set") or {}) for ev in steps or []) or "—"


def scenario_differences(a: Results, b: Results) -> list[tuple[str, str, str]]:
    """Parameters whose values differ between the two runs' resolved scenarios (the timeline by its steps, one a
    line; notes, which change nothing, are not compared)."""
    sa, sb = (r.manifest.get("scenario", {}) or {} for r in (a, b))
    rows = []
    for section in sorted(set(sa) | set(sb)):
        va, vb = sa.get(section), sb.get(section)
        if isinstance(va, dict) and isinstance(vb, dict):
            for key in sorted(set(va) | set(vb)):
                if va.get(key) != vb.get(key):
                    rows.append((f"{section}.{key}", str(va.get(key, "—")), str(vb.get(key, "—"))))
        elif section == "timeline":
            if (ta := timeline_text(va)) != (tb := timeline_text(vb)):
                rows.append((section, ta, tb))
        elif va != vb and section not in ("name", "description"):
            rows.append((section, str(va), str(vb)))
    return rows


def claims_html(table: pd.DataFrame) -> str:
    """The claims table (`claims_table`) as an HTML section."""
    def cell(tag: str, k: int, text: str) -> str:
        left = " class='l'" if CLAIMS_HEAD[k] in ("outcome", "unit", "thesis claim") else ""
        return f"<{tag}{left}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", k, c) for k, c in enumerate(CLAIMS_HEAD))
    body = "".join("<tr>" + "".join(cell("td", k, v) for k, v in enumerate(row)) + "</tr>"
                   for row in claims_rows(table))
    period, interval, pairing = (html.escape(str(table.attrs.get(k, ""))) for k in ("period", "interval", "pairing"))
    return (
        f"<h2>What the thesis claims, A vs B</h2><p class='note'>Period: {period}. Each cell: mean [{interval}]; "
        f"{pairing}. Counts of people, cases, arrests, grams and money are national equivalents (simulated ÷ "
        "population scale), per year or, for states, averaged over the weeks. 'As claimed': yes when B − A has the "
        "sign of the thesis's claim and its interval excludes 0, no otherwise; nothing beyond that is judged."
        f"{'' if table.attrs.get('judged', True) else ' ' + html.escape(NOT_JUDGED) + '.'}"
        f" {html.escape(table.attrs.get('scale_note', ''))}</p>"
        f"<table id='claims'><tr>{head}</tr>{body}</table>"
    )


def write_comparison(a: Sequence[Results], b: Sequence[Results], path: Path, title: str | None = None,
                     period: Period | None = None, claims: pd.DataFrame | None = None) -> Path:
    """One self-contained HTML page comparing run(s) A with run(s) B: the settings that differ, the thesis's
    claims over `period` (default `period_of` B's and A's first runs) with intervals and paired differences (or the
    `claims_table` given as `claims`), the headline numbers with their differences (and seed ranges when a side
    has several seeds), the key series of both in one chart, and the report's flow figures and maps side by
    side. Sides that are not the seeds of one scenario each raise ValueError (`check_sides`); sides at other
    scales, starts or lengths, and prices beyond the evidence, get a warning at the top."""
    from northroute.report import CSS, figure_writer

    a, b = list(a), list(b)
    if not a or not b:
        raise ValueError("each side of a comparison needs at least one run")
    warnings = comparison_warnings(a, b) if claims is None else claims.attrs["warnings"]
    ta = [r.timeseries for r in a]
    tb = [r.timeseries for r in b]
    ma, mb = _meta(a), _meta(b)
    title = title or f"northroute comparison — {ma['scenario']} (A) vs {mb['scenario']} (B)"
    fig_html = figure_writer()

    meta_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(ma[k])}</td><td>{html.escape(mb[k])}</td></tr>"
                        for k in ma)
    diffs = scenario_differences(a[0], b[0])
    diff_rows = "".join(f"<tr><td class='l'><code>{html.escape(k)}</code></td><td>{_lines(x)}</td>"
                        f"<td>{_lines(y)}</td></tr>" for k, x, y in diffs) or \
        "<tr><td class='l' colspan='3'>none: the two sides differ only in their seeds</td></tr>"
    comp = compare_outcomes(ta, tb)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in comp.columns)
    body = "".join(
        f"<tr><td class='l'>{html.escape(str(s))}</td><td class='l'>{html.escape(str(q))}</td>"
        + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
        for (s, q), row in comp.iterrows())
    scales = ma["population scale"] if ma["population scale"] == mb["population scale"] else \
        f"A's {ma['population scale']}, B's {mb['population scale']}"
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "<table class='meta'><tr><th></th><th>A</th><th>B</th></tr>" + meta_rows + "</table>",
        *(f"<p class='warn'><b>Warning:</b> {html.escape(w)}.</p>" for w in warnings),
        "<h2>Settings that differ</h2><table><tr><th class='l'>parameter</th><th>A</th><th>B</th></tr>"
        + diff_rows + "</table>",
        claims_html(claims if claims is not None else claims_table(a, b, period or period_of(b[0], a=a[0]))),
        "<h2>Differences</h2><p class='note'>Simulated totals over all the recorded weeks (the whole run, not the "
        "period of the claims above, so a price here differs from the claims table's), not national equivalents "
        f"(divide by the population scale, {html.escape(scales)}; kg are simulated grams ÷ 1000), "
        "people in the last week, mean national prices over the run. With several seeds on a side: the mean, and "
        "the lowest and highest seed; 'seed ranges apart' says whether the two sides' ranges overlap.</p>"
        f"<table id='differences'><tr><th class='l'>substance</th><th class='l'>measure</th>{head}</tr>{body}</table>",
        "<h2>Key series, A and B</h2><p class='note'>Weekly values of the whole simulated country (simulated rows "
        "and grams: divide by the population scale for national equivalents); solid lines world=true, dashed "
        "world=recorded where the model has it; shaded bands span the seeds of a side.</p>",
    ]
    groups = {"A": ta, "B": tb}
    present = set(metric_pairs(ta[0])) & set(metric_pairs(tb[0]))
    for k, (metric, level) in enumerate(p for p in KEY_TRENDS if p in present):
        unit, doc = metric_info(metric, level)
        parts.append(f"<h3>{html.escape(doc or metric)} <code>{metric}</code> ({html.escape(level)}, "
                     f"{html.escape(unit)}; {national_how(ta[0], metric, level)})</h3>")
        parts.append(fig_html(trend_figure(groups, metric, level), f"fig-trend-{k}"))
    route_names = load_geography().route_names

    def true(ts: pd.DataFrame) -> pd.DataFrame:
        return ts[ts["world"] == "true"]

    side: list[tuple[str, Callable[[Results], go.Figure]]] = [
        ("Flows by route", lambda r: figures.flows_figure(true(r.timeseries), route_names)),
        ("Map", lambda r: figures.map_figure(true(r.timeseries)))]
    if {("arrests", "retail")} <= present:  # runs made before the enforcement layer have none of these
        side += [("Arrests a year by level: the person's role (true) and the charge (recorded); simulated rows",
                  lambda r: enforcement.arrests_figure(r.timeseries))]
        if all("cause" in r.events for r in (a[0], b[0])):  # events carry causes since session 35
            side += [("Arrests a year by the person's role, by what led to them (true); simulated rows",
                      lambda r: enforcement.arrest_causes_figure(r.timeseries, r.events))]
        side += [("Drug prisoners by role at arrest; simulated rows",
                  lambda r: enforcement.prison_figure(r.timeseries)),
                 ("Corruption as it is (true) and as the agencies count it (recorded); simulated rows",
                  lambda r: enforcement.corruption_figure(r.timeseries))]
    parts.append("<h2>Side by side (first seed of each side)</h2>")
    for k, (name, make) in enumerate(side):
        parts.append(f"<h3>{html.escape(name)}</h3><div class='pair'><div><b>A</b>"
                     f"{fig_html(make(a[0]), f'fig-side-{k}-a')}</div><div><b>B</b>"
                     f"{fig_html(make(b[0]), f'fig-side-{k}-b')}</div></div>")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    css = CSS + ".pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }\n"
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(parts)
        + f"\n<footer>Comparison written {html.escape(now)}.</footer>\n</main>\n</body>\n</html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
