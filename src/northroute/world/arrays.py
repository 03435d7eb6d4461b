"""Array helpers: scatter-adds (np.add.at is slow on large arrays, np.bincount is not) and a
linear-time stable ordering by small integer keys."""

from __future__ import annotations

import numpy as np
from numba import njit


def scatter_add(target: np.ndarray, index: np.ndarray | tuple[np.ndarray, ...],
                values: np.ndarray | float) -> None:
    """target[index] += values, summing repeated indices (1-D index or a tuple for N-D targets).

    A compiled loop: its cost is the number of indices, not the size of the target (np.add.at is
    slow per element, np.bincount pays for every slot of the target)."""
    if isinstance(index, tuple):
        flat = np.ravel_multi_index(tuple(np.asarray(i, np.int64) for i in index), target.shape)
        if not target.flags.c_contiguous:
            raise ValueError("scatter_add with a tuple index needs a contiguous target")
        target = target.reshape(-1)
    else:
        flat = np.asarray(index, np.int64)
    flat = flat.reshape(-1)
    if not flat.size:
        return
    vals = np.asarray(values, np.float64)
    if vals.size == flat.size:
        _add_at(target, flat, vals.reshape(-1))
    elif vals.size == 1:  # one value for every index: no broadcast view (a week's hot path)
        _add_value_at(target, flat, vals.item())
    else:  # the compiled loop does not check bounds
        raise ValueError(f"scatter_add: {vals.size} values for {flat.size} indices")


@njit(cache=True)
def _add_at(target, index, values):
    for i in range(index.size):
        target[index[i]] += values[i]


@njit(cache=True)
def _add_value_at(target, index, value):
    for i in range(index.size):
        target[index[i]] += value


@njit(cache=True)
def stable_order(keys, n_keys):
    """The order `np.argsort(keys, kind="stable")` gives, by counting sort: keys are small
    non-negative integers (markets, person rows), so this is one linear pass instead of a sort."""
    start = np.zeros(n_keys + 1, np.int64)
    for i in range(keys.size):
        start[keys[i] + 1] += 1
    for k in range(n_keys):
        start[k + 1] += start[k]
    order = np.empty(keys.size, np.int64)
    for i in range(keys.size):
        k = keys[i]
        order[start[k]] = i
        start[k] += 1
    return order


@njit(cache=True)
def count_by(rows, key, n_keys):
    """`np.bincount(key[rows], minlength=n_keys)` without the gathered temporary."""
    out = np.zeros(n_keys)
    for i in range(rows.size):
        out[key[rows[i]]] += 1.0
    return out


@njit(cache=True)
def sum_by(rows, key, values, n_keys):
    """`np.bincount(key[rows], values[rows], n_keys)` in one pass (same order of addition)."""
    out = np.zeros(n_keys)
    for i in range(rows.size):
        r = rows[i]
        out[key[r]] += values[r]
    return out


def stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each x rounded down or up, up with chance its fractional part, so the expected count is x itself.
    Counts per market (wholesalers, promotions, recruits) are small at a reduced scale, and rounding them
    up or to the nearest gave a run at scale 0.1 relatively more of them than a national one (session 38);
    unbiased rounding keeps a reduced run the national model in small, in expectation."""
    x = np.asarray(x, np.float64)
    base = np.floor(x)
    return (base + (rng.random(x.shape) < x - base)).astype(np.int64)


def apportion(total: float, weights: np.ndarray) -> np.ndarray:
    """Whole counts in proportion to `weights` that sum to round(total) (largest remainders; ties to the
    lower index), each at least one (every region has its officer). Rounding each share on its own lost
    officers at small scales (the 0.05 world had 5% fewer than its share, session 38)."""
    quota = round(total) * np.asarray(weights, np.float64) / np.sum(weights)
    out = np.floor(quota).astype(np.int64)
    extra = round(total) - int(out.sum())
    out[np.argsort(-(quota - out), kind="stable")[:extra]] += 1
    return np.maximum(out, 1)
