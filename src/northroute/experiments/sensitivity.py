"""Sensitivity indices (SALib's Morris and Sobol analyses) and the replicate-count check.

The model is stochastic. A design point's output is its mean over the study's seeds, and every point
uses the same seeds (common random numbers), so the indices compare points, not seed noise. The
replicate check asks how many seeds that mean needs: the running mean and standard deviation over
seeds 0..k-1 'settle' at the first k from which both stay within tol x |mean over all seeds| of their
values over all seeds. Both are measured against the mean, the output's level: a spread that is tiny
next to the level is settled even if it still moves in relative terms.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from northroute.experiments.designs import Design
from northroute.experiments.outputs import NAMES
from northroute.experiments.store import REPLICATES_FILE, SENSITIVITY_FILE, Study, write_parquet

CONF_LEVEL = 0.95
RESAMPLES = 1000
INDEX_COLUMNS = {"morris": ("mu", "mu_star", "mu_star_conf", "sigma"), "sobol": ("S1", "S1_conf", "ST", "ST_conf")}


def point_means(outputs: pd.DataFrame, n_points: int) -> pd.DataFrame:
    """Mean of every output over the seeds of each point (NaN where a point has no finished run)."""
    names = [n for n in NAMES if n in outputs.columns]
    means = outputs.groupby("point")[names].mean() if len(outputs) else pd.DataFrame(columns=names)
    return means.reindex(pd.RangeIndex(n_points, name="point"))


def indices(method: str, problem: dict[str, Any], sample: np.ndarray, y: np.ndarray, levels: int = 4,
            seed: int = 0) -> dict[str, np.ndarray]:
    """SALib's indices of one output with their 95% confidence intervals (bootstrap)."""
    from SALib.analyze import morris, sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns on small N; the intervals show it
        if method == "morris":
            res = morris.analyze(problem, sample, y, num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                 num_levels=levels, seed=seed)
        else:
            res = sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES,
                                conf_level=CONF_LEVEL, seed=seed)
    return {k: np.asarray(res[k], dtype=float) for k in INDEX_COLUMNS[method]}


FEW = {"morris": 10, "sobol": 256}  # assumption: rules of thumb (Morris: 10-50 trajectories, Campolongo et al. 2007;
# Sobol: SALib's examples use N of 1024); below them the bootstrap rests on too few effects to mean much


def few_samples(design: Design) -> str:
    """A warning that a sensitivity design's N is too small for its intervals to mean much, or ''."""
    n, method = design.spec.get("n"), design.method
    if method not in FEW or n is None or n >= FEW[method]:
        return ""
    what = "trajectories" if method == "morris" else "base samples"
    return (f"N = {n} (--n): with fewer than {FEW[method]} {what} the {method} indices are rough and their bootstrap "
            "intervals can be far too narrow (even zero wide when every effect of a parameter has the same size); "
            f"read them as a first look and rerun with --n {FEW[method]} or more")


def analyze(study: Study, outputs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Indices per output and parameter (one row each); `note` says why an output has none."""
    design = study.design
    if design.method not in INDEX_COLUMNS:
        raise ValueError(f"a {design.method} study has no sensitivity indices")
    outputs = study.outputs() if outputs is None else outputs
    means = point_means(outputs, len(design.points))
    prob, cols = design.problem, INDEX_COLUMNS[design.method]
    rows = []
    for name in NAMES:
        y = means[name].to_numpy(dtype=float) if name in means else np.full(len(means), np.nan)
        note, values = "", None
        missing = int(np.isnan(y).sum())
        if missing:
            done = means.notna().any(axis=1).sum()
            note = (f"{len(y) - done} design points have no finished run" if done < len(y)
                    else f"undefined at {missing} design points (nothing to measure: no users, or runs that do not "
                          "cover the years the output reads)")
        elif np.ptp(y) == 0:
            note = "constant over the design"
        else:
            values = indices(design.method, prob, design.sample, y, design.spec.get("levels", 4),
                             design.spec.get("sample_seed", 0))
        for j, param in enumerate(prob["names"]):
            row = {"output": name, "parameter": param, "method": design.method}
            row.update({c: float(values[c][j]) if values is not None else np.nan for c in cols})
            row["note"] = note
            rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------- replicate check


def running_stats(values: np.ndarray) -> pd.DataFrame:
    """Mean and standard deviation over the first k seeds, k = 1..K."""
    v = np.asarray(values, dtype=float)
    k = np.arange(1, len(v) + 1)
    mean = np.cumsum(v) / k
    sq = np.cumsum(v * v) / k
    var = np.maximum(sq - mean * mean, 0.0) * k / np.maximum(k - 1, 1)
    sd = np.where(k > 1, np.sqrt(var), np.nan)
    return pd.DataFrame({"seeds": k, "mean": mean, "sd": sd})


def settled_at(values: np.ndarray, tol: float) -> int | None:
    """Fewest seeds from which the running mean and sd stay within tol x |final mean| of their final values.

    None when only the full set qualifies (not settled within the seeds run), or with fewer than 3 seeds."""
    stats = running_stats(values)
    if len(stats) < 3 or stats["mean"].isna().any():
        return None
    m, s = stats["mean"].to_numpy(), stats["sd"].to_numpy()
    band = tol * abs(m[-1]) + 1e-12
    ok = (np.abs(m - m[-1]) <= band) & (np.abs(s - s[-1]) <= band)
    ok[0] = False  # one seed has no spread
    bad = np.flatnonzero(~ok)
    first = int(bad[-1]) + 2  # first k (1-based) after the last k that is off
    return first if first < len(values) else None


def seeds_for_precision(values: np.ndarray, tol: float) -> float:
    """Seeds for the 95% confidence interval of the mean to be within ±tol of the mean (t-based estimate)."""
    from scipy.special import stdtrit  # the t quantile, without importing all of scipy.stats

    v = np.asarray(values, dtype=float)
    if len(v) < 2 or np.isnan(v).any():
        return np.nan
    mean, sd = v.mean(), v.std(ddof=1)
    if sd == 0:
        return 1.0
    if mean == 0:
        return np.nan
    t = stdtrit(len(v) - 1, 0.5 + CONF_LEVEL / 2)
    return float(max(2, math.ceil((t * sd / (tol * abs(mean))) ** 2)))


def replicate_check(outputs: pd.DataFrame, tol: float = 0.05) -> pd.DataFrame:
    """Per output and design point: seeds run, mean, sd, seeds to settle, seeds for ±tol precision."""
    rows = []
    for point, runs in outputs.sort_values(["point", "seed"]).groupby("point"):
        for name in NAMES:
            if name not in runs:
                continue
            v = runs[name].to_numpy(dtype=float)
            rows.append({"output": name, "point": int(point), "seeds": len(v), "mean": float(np.mean(v)),
                         "sd": float(np.std(v, ddof=1)) if len(v) > 1 else np.nan,
                         "settled_at": settled_at(v, tol), "seeds_for_precision": seeds_for_precision(v, tol),
                         "tolerance": tol})
    table = pd.DataFrame(rows, columns=["output", "point", "seeds", "mean", "sd", "settled_at",
                                        "seeds_for_precision", "tolerance"])
    table["settled_at"] = table["settled_at"].astype("Int64")
    return table


def replicate_summary(check: pd.DataFrame) -> pd.DataFrame:
    """Per output over the design points: how many settled, median and worst seeds to settle and to precision."""
    if check.empty:
        return pd.DataFrame(columns=["output", "points", "seeds", "settled_points", "settled_median",
                                     "settled_max", "precision_median", "precision_max"])
    g = check.groupby("output", sort=False)
    out = pd.DataFrame({
        "points": g["point"].count(),
        "seeds": g["seeds"].min(),
        "settled_points": g["settled_at"].count(),
        "settled_median": g["settled_at"].median(),
        "settled_max": g["settled_at"].max(),
        "precision_median": g["seeds_for_precision"].median(),
        "precision_max": g["seeds_for_precision"].max(),
    })
    return out.reindex([n for n in NAMES if n in out.index]).reset_index()


def write_analysis(study: Study, tol: float = 0.05) -> dict[str, pd.DataFrame]:
    """Compute and save the replicate check (and sensitivity indices for Morris/Sobol studies)."""
    outputs = study.outputs()
    result = {"outputs": outputs, "replicates": replicate_check(outputs, tol)}
    write_parquet(study.path / REPLICATES_FILE, result["replicates"])
    if study.design.method in INDEX_COLUMNS:
        result["sensitivity"] = analyze(study, outputs)
        write_parquet(study.path / SENSITIVITY_FILE, result["sensitivity"])
    return result
