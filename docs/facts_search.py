"""How many stylised facts can any setting of the assumption-only parameters reproduce?

A pattern-oriented search (Grimm et al. 2005): a Latin hypercube over the ranges of the shipped
screening (`src/northroute/calibration/screening_ranges.toml`, the default of --params; every parameter
there is an assumption), one `northroute validate` per point, and one CSV row per point with the parameter
values, the facts and tests passed, and each test's observed value. The question it answers is
whether the issue's bar (27 of the 36 facts) is within reach of the assumptions at all, or whether
the misses are structural (a mechanism or an input the parameters do not touch).

    python docs/facts_search.py --points 120 --scale 0.2 --seeds 2 --out docs/facts_search.csv

Point -1 is the shipped defaults, the reference. Resumable: points already in the CSV are skipped (the
sample is fixed by --sample-seed). Each point's runs go to a temporary folder that is deleted once its
row is written. `--plot docs/facts_search.png` draws the figure from the CSV without running anything.

    python docs/facts_search.py --distance --out docs/facts_search.csv

adds each point's distance to the recorded series (`thesis-2012-2017`, as `northroute calibrate` measures
it: `anticorruption-2015`, scale 0.05, 6 years), the mean over DISTANCE_SEEDS, for the rows that lack it:
do the settings that pass the most facts also fit Table 5.5, Table 5.6 and the price trend?

    python docs/facts_search.py --arrests-per-month 900 --out docs/facts_search_arrests.csv

holds the police's quota arrests at the defaults' 900 a month nationally (600 drug officers x 1.5, which fit the
drug crimes on record): each point's `policing.quota_per_month` is 900 over its drug officers, so the number of
officers changes who makes the arrests (and who can be corrupt), not how many are made (session 29).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from scipy.stats import qmc
from tqdm import tqdm

from northroute.experiments.designs import param_type, read_params
from northroute.scenario import Scenario, ScenarioError, load_scenario
from northroute.validation.scorecard import fact_of, tally

# The shipped search (docs/facts_search.csv, session 26) was made with the screening's ranges at today's defaults.
# When a default it varies changes, name the value it was searched at in DEFAULTS_THEN (a test compares its point -1
# with the defaults), or search again; earlier searches, their ranges and figures are in git history.
QUOTA = "policing.quota_per_month"
OFFICERS = "policing.drug_officers"
RANGES = Path(__file__).resolve().parents[1] / "src" / "northroute" / "calibration" / "screening_ranges.toml"
DEFAULTS_THEN: dict[str, float] = {}
DISTANCE_SEEDS = (100, 101)  # clear of the seeds calibrate uses by default (0 up) and of validate's (0-5)
DISTANCE_SCALE = 0.05  # the calibration's default scale


def sample(ranges: dict[str, tuple[float, float]], points: int, seed: int) -> list[dict[str, float | int]]:
    """A Latin hypercube of `points` parameter sets, uniform within each range."""
    names = list(ranges)
    unit = qmc.LatinHypercube(d=len(names), seed=seed).random(points)
    lo = [ranges[n][0] for n in names]
    hi = [ranges[n][1] for n in names]
    return [typed(dict(zip(names, row, strict=True))) for row in qmc.scale(unit, lo, hi)]


def typed(values: dict[str, float]) -> dict[str, float | int]:
    """Parameter values as the model takes them: integer parameters rounded, as the screening does."""
    return {n: round(v) if param_type(_defaults(), n) is int else float(v) for n, v in values.items()}


@functools.cache
def _defaults() -> Scenario:
    """The default scenario, read once: `typed` asks it the type of every value of every point."""
    return load_scenario()


def score(facts: list[dict]) -> dict[str, int]:
    """Facts and tests passed, counted as the scorecard's summary counts them."""
    card = pd.DataFrame(facts)
    card["construction"] = card["by_construction"].map({True: "yes", False: ""})
    t = tally(card)
    return {"facts": t["facts"], "tests": t["tests"], "facts_real": t["facts"] - t["facts_built"]}


def validate(point: dict[str, float | int], scale: float, seeds: int, workers: int | None) -> list[dict]:
    """The scorecard of one parameter set, from the `northroute validate` command."""
    with tempfile.TemporaryDirectory(prefix="facts-search-") as tmp:
        cmd = [sys.executable, "-m", "northroute", "validate", "--json", "--quiet", "--seeds", str(seeds),
               "--scale", str(scale), "--out", str(Path(tmp) / "v")]
        cmd += [a for name, value in point.items() for a in ("--set", f"{name}={value!r}")]
        cmd += ["--workers", str(workers)] if workers else []
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"validate failed on {point}: {done.stderr.strip().splitlines()[-1:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def hold_arrests(point: dict[str, float | int], per_month: float | None) -> dict[str, float | int]:
    """The point with its quota set so that its drug officers make `per_month` quota arrests a month nationally
    (no change when `per_month` is None)."""
    if per_month is None:
        return point
    officers = point.get(OFFICERS, default_point([OFFICERS])[OFFICERS])
    return {**point, QUOTA: per_month / officers}


def default_point(names: list[str]) -> dict[str, float | int]:
    """The shipped defaults of the searched parameters (the search's reference, point -1)."""
    return {n: getattr(getattr(_defaults(), n.partition(".")[0]), n.partition(".")[2]) for n in names}


def _distance(values: dict[str, float | int]) -> float:
    from northroute.calibration.abc import fit

    distances, _ = fit("anticorruption-2015", "thesis-2012-2017", values, DISTANCE_SCALE, 6.0, list(DISTANCE_SEEDS))
    return sum(distances) / len(distances)


def add_distances(path: Path, names: list[str], workers: int | None) -> pd.DataFrame:
    """Fill the `distance` column of the CSV at `path` where it is empty, one point per worker."""
    from concurrent.futures import ProcessPoolExecutor

    table = pd.read_csv(path)
    if QUOTA in table and QUOTA not in names:  # a search that held the arrests: each point has its own quota
        names = [*names, QUOTA]
    if "distance" not in table:
        table["distance"] = float("nan")
    todo = table.index[table["distance"].isna()]
    with ProcessPoolExecutor(workers) as pool:
        values = [typed(table.loc[i, names].to_dict()) for i in todo]
        for i, d in zip(todo, tqdm(pool.map(_distance, values), total=len(todo), desc="distances", unit="point"),
                        strict=True):
            table.loc[i, "distance"] = d
    table.to_csv(path, index=False)
    return table


def _facts(columns: list[str]) -> list[str]:
    """The fact of each "TEST:field" column (SF3b's columns belong to SF3)."""
    return fact_of(pd.Series(columns).str.split(":").str[0]).tolist()


def plot(table: pd.DataFrame, path: Path, bar: int = 27):
    """Facts passed per point (the defaults marked), each fact's share of points where it passes and, when
    the table has distances, each point's facts against its distance to the recorded series; returns the
    figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

    search = table[table.point >= 0]
    status = [c for c in table.columns if c.endswith(":status")]
    share = (search[status] == "pass").T.groupby(_facts(status)).all().T.mean().sort_values()
    fit = "distance" in table and table["distance"].notna().any()
    widths = [1, 1.2, 1] if fit else [1, 1.2]
    fig, axes = plt.subplots(1, len(widths), figsize=(6 * len(widths), 7), gridspec_kw={"width_ratios": widths})
    a, b = axes[:2]
    counts = search.facts.value_counts().sort_index()
    a.bar(counts.index, counts.values, color="#4c72b0", label="search points")
    for _, r in table[table.point < 0].iterrows():
        a.axvline(r.facts, color="#dd8452", lw=2, label=f"defaults ({int(r.facts)})")
    a.axvline(bar, color="#c44e52", ls="--", lw=2, label=f"the issue's bar ({bar} of 36)")
    a.set(xlabel="stylised facts passed (of 36)", ylabel="parameter sets",
          title=f"{len(search)} points of the assumption ranges")
    a.set_xlim(min(counts.index.min(), bar) - 1, 37)
    a.xaxis.set_major_locator(MaxNLocator(integer=True))
    a.legend(loc="upper right")
    b.barh(share.index, share.values, color="#4c72b0")
    observed = [c for c in table.columns if c.endswith(":observed")]
    measured = table[observed].notna().any().groupby(_facts(observed)).any()
    for name in share.index[share.values == 0]:
        b.text(0.01, name, "never passes" if measured.get(name, False) else "not measured", va="center",
               color="#c44e52", fontsize=8)
    b.set(xlabel="share of points where the fact passes", xlim=(0, 1), title="each fact")
    b.tick_params(axis="y", labelsize=8)
    if fit:
        c = axes[2]
        c.scatter(search.facts, search.distance, s=14, color="#4c72b0", alpha=0.6, label="search points", zorder=3)
        ref = table[table.point < 0]
        c.scatter(ref.facts, ref.distance, s=60, color="#dd8452", marker="D", label="defaults")
        c.axvline(bar, color="#c44e52", ls="--", lw=2)
        c.set_xlim(table.facts.min() - 1, max(table.facts.max(), bar) + 1)  # the points on the bar stay whole
        c.set(xlabel="stylised facts passed (of 36)", ylabel="distance to the recorded series (log)", yscale="log",
              title="facts against the fit to Tables 5.5-5.6")
        c.xaxis.set_major_locator(MaxNLocator(integer=True))
        c.set_yticks([0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5])
        c.set_ylim(table.distance.min() * 0.9, table.distance.max() * 1.1)
        c.yaxis.set_major_formatter(ScalarFormatter())
        c.yaxis.set_minor_formatter(NullFormatter())
        c.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=120)
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--sample-seed", type=int, default=0)
    ap.add_argument("--params", type=Path, default=RANGES)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("docs/facts_search.csv"))
    ap.add_argument("--arrests-per-month", type=float, default=None, help="hold the quota arrests at this many a "
                    "month nationally: each point's quota_per_month is this over its drug officers")
    ap.add_argument("--plot", type=Path, default=None, help="only draw the figure of --out into this PNG")
    ap.add_argument("--distance", action="store_true", help="only add each point's distance to the recorded "
                    "series to --out")
    args = ap.parse_args()
    if args.plot:
        if not args.out.is_file():
            raise SystemExit(f"error: no search results at {args.out} (run the search first, or give --out)")
        plot(pd.read_csv(args.out), args.plot)
        return
    try:
        ranges = read_params(args.params)
    except ScenarioError as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.distance:
        if not args.out.is_file():
            raise SystemExit(f"error: no search results at {args.out} (run the search first, or give --out)")
        add_distances(args.out, list(ranges), args.workers)
        return
    if args.arrests_per_month is not None and (args.arrests_per_month <= 0 or QUOTA in ranges):
        raise SystemExit(f"error: --arrests-per-month needs a positive number and ranges without {QUOTA}")
    points = [hold_arrests(p, args.arrests_per_month)
              for p in [default_point(list(ranges)), *sample(ranges, args.points, args.sample_seed)]]
    done = set()
    if args.out.exists():
        with args.out.open() as fh:
            done = {int(r["point"]) for r in csv.DictReader(fh)}
    for i, point in enumerate(tqdm(points, desc="facts search", unit="point"), start=-1):
        if i in done:
            continue
        facts = validate(point, args.scale, args.seeds, args.workers)
        row = {"point": i, **point, **score(facts)}
        row |= {f"{f['id']}:{key}": f[key] for f in facts for key in ("observed", "status")}
        new = not args.out.exists()
        with args.out.open("a+", newline="") as fh:
            fh.seek(0)
            header = list(row) if new else next(csv.reader(fh))  # a distance column stays empty
            writer = csv.DictWriter(fh, fieldnames=header, restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)


if __name__ == "__main__":
    main()
