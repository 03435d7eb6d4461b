"""The scorecard: each fact measured on every seed of its scenario, a 90% interval, pass or miss."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from northroute.report.compare import t_interval
from northroute.validation.facts import FACTS, Fact, frame


def _edge(v: float) -> tuple[float, bool]:
    """A band edge as printed, and whether it is open: bands write '> 1' as 1 + 1e-9 and '< 1' as 1 - 1e-9."""
    shown = round(v, 6)
    return shown, shown != v


def band_label(fact: Fact) -> str:
    if fact.measure is None:
        return "n/a"
    (lo, lo_open), (hi, hi_open) = _edge(fact.band[0]), _edge(fact.band[1])
    if fact.band[1] == math.inf:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if lo == hi:
        return f"= {lo:g}"
    if lo == 0 and hi_open:
        return f"< {hi:g}"
    return f"{lo:g}{' (open)' if lo_open else ''} to {hi:g}{' (open)' if hi_open else ''}"


def crosses_band(lo: float, hi: float, band: tuple[float, float]) -> bool:
    """Does the interval hold values both inside and outside the band (so the verdict is not settled)?"""
    if np.isnan(lo) or np.isnan(hi):
        return False
    return bool(lo < band[0] <= hi or lo <= band[1] < hi)


def in_band(values: np.ndarray, band: tuple[float, float]) -> int:
    """How many seeds' values lie in the band: a pass of the mean carried by one seed shows here."""
    return int(((values >= band[0]) & (values <= band[1])).sum())


def seeds_in_band(row: pd.Series) -> str:
    """'k of n', n counting every seed run (a seed with no value is not in the band)."""
    return f"{row['in_band']} of {row['n_seeds']}" if len(row["values"]) else "n/a"


def strip_svg(row: pd.Series, width: int = 150, height: int = 18) -> str:
    """Each seed's value as a dot against the band (green) and the mean as a bar: an inline SVG, so the page
    shows at a glance whether a verdict rests on all seeds or on a few."""
    vals = np.asarray(row["values"], float)
    if not vals.size:
        return ""
    band = [b for b in (row["lo_band"], row["hi_band"]) if np.isfinite(b)]
    lo, hi = min(vals.min(), *band), max(vals.max(), *band)
    pad = (hi - lo) * 0.08 or max(abs(lo), 1.0) * 0.1
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return round(2 + (width - 4) * (min(max(v, lo), hi) - lo) / (hi - lo), 1)

    b0, b1 = x(row["lo_band"]), x(row["hi_band"])
    dots = "".join(f"<circle cx='{x(v)}' cy='{height / 2}' r='2.6' fill='#333' fill-opacity='0.6'/>" for v in vals)
    tip = html.escape(f"seeds: {', '.join(f'{v:.3g}' for v in vals)}; band {row['band']}; axis {lo:.3g} to {hi:.3g}")
    return (f"<svg width='{width}' height='{height}' role='img'><title>{tip}</title>"
            f"<rect x='{b0}' y='2' width='{max(b1 - b0, 1.0)}' height='{height - 4}' fill='#bfe6bf'/>"
            f"<line x1='2' y1='{height / 2}' x2='{width - 2}' y2='{height / 2}' stroke='#999'/>{dots}"
            f"<line x1='{x(row['mean'])}' y1='1' x2='{x(row['mean'])}' y2='{height - 1}' stroke='#c00' "
            "stroke-width='2'/></svg>")


def scorecard(runs: dict[str, Sequence[pd.DataFrame]], facts: Sequence[Fact] = FACTS) -> pd.DataFrame:
    """One row per fact: the mean over seeds with its 90% t-interval (cut to the values the measure can take),
    and pass when the mean lies in the band.

    `runs` maps "baseline", "reform" and the liability pair to the time series of their seeds, in seed
    order; a fact with a twin is measured on each seed's run and the twin's run of the same seed. A fact
    the model cannot speak to, or whose scenario was not run, is a miss with its reason."""
    frames = {k: [frame(ts) for ts in v] for k, v in runs.items()}
    rows = []
    for f in facts:
        row = {"id": f.id, "claim": f.claim, "evidence": f.evidence, "scenario": f.scenario, "metric": f.metric,
               "band": band_label(f), "lo_band": f.band[0], "hi_band": f.band[1], "mean": np.nan, "lo": np.nan,
               "hi": np.nan, "n": 0, "status": "miss", "note": f.reason, "construction": f.construction,
               "edge": False, "values": [], "in_band": 0, "n_seeds": 0}
        needed = [f.scenario] + ([f.twin] if f.twin else [])
        if f.measure is not None and all(frames.get(k) for k in needed):
            values = pd.DataFrame([[f.measure(*runs_of_seed) for runs_of_seed
                                    in zip(*(frames[k] for k in needed), strict=True)]])
            est = t_interval(values).iloc[0]
            seeds = values.iloc[0].to_numpy(float)
            n_seeds, seeds = seeds.size, seeds[np.isfinite(seeds)]
            lo, hi = np.clip([est["lo"], est["hi"]], *f.domain)  # NaN (one seed) stays NaN
            row |= {"mean": est["mean"], "lo": lo, "hi": hi, "n": int(est["n"]),
                    "values": seeds.tolist(), "in_band": in_band(seeds, f.band), "n_seeds": n_seeds}
            ok = f.band[0] <= est["mean"] <= f.band[1]
            row["status"] = "pass" if ok else "miss"
            row["edge"] = crosses_band(lo, hi, f.band)
            notes = [f"by construction: {f.construction}"] if f.construction else []
            if row["edge"]:
                notes.append("the 90% interval crosses the band's edge: more seeds could change the verdict")
            if not ok and f.known_miss:
                notes.append(f"known miss at the shipped defaults: {f.known_miss}")
            row["note"] = "; ".join(notes)
            if not est["n"]:
                row["note"] = "no value (nothing to measure in these runs)"
        elif f.measure is not None:
            row["note"] = f"the {' and '.join(needed)} scenario{'s were' if f.twin else ' was'} not run"
        rows.append(row)
    return pd.DataFrame(rows)


def observed(row: pd.Series) -> str:
    if not row["n"]:
        return "n/a"
    if np.isnan(row["lo"]):
        return f"{row['mean']:.3g}"
    return f"{row['mean']:.3g} [{row['lo']:.3g}, {row['hi']:.3g}]"


def fact_of(test_ids: pd.Series) -> pd.Series:
    """The spec's fact each test belongs to (SF3 and SF3b are two tests of SF3)."""
    return test_ids.str.extract(r"^(SF\d+)", expand=False)


def by_fact(card: pd.DataFrame) -> pd.Series:
    """Pass or miss per fact of the spec's list: a fact passes when every one of its tests passes."""
    return (card["status"] == "pass").groupby(fact_of(card["id"]), sort=False).all()


def tally(card: pd.DataFrame) -> dict[str, int]:
    """Tests passed, verdicts on a band's edge (a test's 90% interval over seeds crosses it; a card without
    intervals has none), facts passed (every test of the fact), facts passed by construction: those whose every
    test is by construction (SF3's hand-overs are set by a rule, but SF3b, its one-off ties, tests the model),
    and facts passed on a band's edge. The last because a count of facts can turn on such passes: rounding a
    setting's values to three significant figures turned two of them into misses (docs/studies.md, "Rounded")."""
    facts = by_fact(card)
    fact = fact_of(card["id"])
    built = (card["construction"] != "").groupby(fact, sort=False).all()
    edge_test = card.get("edge", pd.Series(False, index=card.index)).astype(bool)
    edge = edge_test.groupby(fact, sort=False).any()
    return {"tests": int((card["status"] == "pass").sum()), "tests_edge": int(edge_test.sum()),
            "facts": int(facts.sum()), "facts_built": int((facts & built).sum()),
            "facts_edge": int((facts & edge).sum()), "n_facts": int(facts.size)}


def summary(card: pd.DataFrame) -> str:
    measured = int((card["n"] > 0).sum())
    t = tally(card)
    return (f"{t['tests']} of {len(card)} tests of stylised facts pass ({measured} measured; the others cannot be "
            f"measured in this model, reason given); {t['facts']} of the {t['n_facts']} facts in the spec's "
            f"list pass every one of their tests, {t['facts_built']} of them by construction (an input "
            f"or a fixed rule sets the value, so the pass does not test the model) and {t['facts_edge']} only on a "
            "band's edge; "
            + (f"{t['tests_edge']} verdicts have a 90% interval that crosses the band's edge"
               if (card["n"] > 1).any() else "with one seed there are no intervals, so no verdict is known to "
               "be clear of its band's edge (run --seeds 2 or more)"))


def fit_to_records(runs: Sequence[pd.DataFrame], scale: float) -> str:
    """The runs' distance to the recorded series that `calibrate` fits, both sets (thesis-2012-2017: Table 5.5
    seizures, Table 5.6 prices, the heroin price trend; records-2012-2017: the same and the enforcement on
    record), mean over seeds with its 90% interval (cut at 0: a distance is not negative). Shown beside the facts
    because the two can pull apart: in the facts searches, settings that passed more facts fitted those series
    worse, and needed several times the drug crimes on record (docs/studies.md)."""
    from northroute.calibration.targets import TARGETS, distance
    from northroute.experiments.outputs import target_statistics

    stats = [st for st in (target_statistics(ts, scale) for ts in runs) if st is not None]
    if not stats:
        return "distance to thesis-2012-2017 n/a (the runs do not record 2012-2017 whole)"

    def shown(name: str) -> str:
        targets = TARGETS[name]()
        row = t_interval(pd.DataFrame([[distance(st, targets) for st in stats]])).iloc[0]
        return f"{name} {row['mean']:.3f}" + (f" [{max(row['lo'], 0.0):.3f}, {row['hi']:.3f}]" if row["n"] > 1 else "")

    return (f"distance to {shown('thesis-2012-2017')} (reform runs; the recorded series calibrate fits; 0 is a "
            f"perfect fit), to {shown('records-2012-2017')} with the enforcement on record")


def regional_prices(runs: Sequence[pd.DataFrame], year: int = 2012) -> str:
    """How many of the runs' regional mean prices in 2012 lie outside Table 5.6's range (its minimum and maximum,
    read as the cheapest and dearest region), mean over seeds with its 90% interval, and where most of them are.
    Not a scored fact (the spec has none on regional prices); shown because the facts and the distance to the
    records are national, while the report's map and regional tables invite regional reading (ODD limitation
    23, docs/open-decisions.md decision 9)."""
    from northroute.report.figures import price_comparison

    tables = [t for t in (price_comparison(ts, year) for ts in runs) if t["regions"].sum() > 0]
    if not tables:
        return f"regional prices against Table 5.6 n/a (the runs do not record {year})"
    outside = [t["regions_below"].map(len) + t["regions_above"].map(len) for t in tables]
    row = t_interval(pd.DataFrame([[o.sum() for o in outside]])).iloc[0]
    cells = int(tables[0]["regions"].sum())
    if row["mean"] == 0:
        return (f"none of the {cells} regional mean prices of {year} (region, drug and level; baseline runs) lies "
                "outside Table 5.6's range from its cheapest to its dearest region (not a scored fact)")
    worst = sum(outside).idxmax()
    worst_n = float(sum(outside)[worst]) / len(tables)
    shown = f"{row['mean']:.1f}" + (f" [{max(row['lo'], 0.0):.1f}, {row['hi']:.1f}]" if row["n"] > 1 else "")
    return (f"{shown} of the {cells} regional mean prices of {year} (region, drug and level; baseline runs) lie "
            f"outside Table 5.6's range from its cheapest to its dearest region, most of them {worst[1]} "
            f"{worst[0]} ({worst_n:.1f} of {int(tables[0]['regions'][worst])} regions; not a scored fact)")


def scorecard_json(card: pd.DataFrame) -> list[dict]:
    def num(v: float) -> float | None:
        return None if v is None or (isinstance(v, float) and (np.isnan(v) or np.isinf(v))) else float(v)

    return [{"id": r["id"], "status": r["status"], "observed": num(r["mean"]),
             "interval": [num(r["lo"]), num(r["hi"])], "band": [num(r["lo_band"]), num(r["hi_band"])],
             "scenario": r["scenario"], "evidence": r["evidence"], "note": r["note"],
             "by_construction": bool(r["construction"]), "interval_crosses_band": bool(r["edge"]),
             "values": [float(v) for v in r["values"]], "seeds_in_band": int(r["in_band"]),
             "n_seeds": int(r["n_seeds"])}
            for _, r in card.iterrows()]


def scorecard_html(card: pd.DataFrame, title: str, meta: str) -> str:
    """A self-contained page: the scorecard table, misses highlighted, reasons shown."""
    head = "".join(f"<th>{h}</th>" for h in ("fact", "claim", "evidence", "scenario", "measured", "band",
                                             "observed (90% interval)", "status", "seeds (dots) against the band",
                                             "note"))
    body = []
    for _, r in card.iterrows():
        plain = (r["id"], r["claim"], r["evidence"], r["scenario"], r["metric"], r["band"], observed(r), r["status"])
        cells = [html.escape(str(c)) for c in plain]
        cells += [f"{strip_svg(r)}<br>{html.escape(seeds_in_band(r))} in band", html.escape(str(r["note"]))]
        body.append(f"<tr class='{r['status']}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    css = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}"
           "tr.pass td:nth-child(8){background:#d9f2d9}tr.miss td:nth-child(8){background:#f8d7d7}"
           "td:nth-child(9){white-space:nowrap}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{css}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(meta)}</p>"
            f"<p><b>{html.escape(summary(card))}</b>. A fact passes when the mean over seeds lies in its band; bands "
            "are the tests of the project's list of stylised facts (kept beside the repository; docs/ODD.md 1.2 "
            "gives each fact's band, evidence and reading) or fixed in the fact's code with a comment. The dots "
            "are the seeds' values, the red bar their mean, the green area the band (hover for "
            f"the numbers).</p><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            "</body></html>")
