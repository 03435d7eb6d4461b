"""Array helpers: scatter-adds (np.add.at is slow on large arrays, np.bincount is not) and a
linear-time stable ordering by small integer keys."""

from __future__ import annotations

import numpy as np
from numba import njit


def scatter_add(target: np.ndarray, index: np.ndarray | tuple[np.ndarray, ...],
                values: np.ndarray | float) -> None:
    """target[index] += values, summing repeated indices (1-D index or a tuple for 2-D targets)."""
    if isinstance(index, tuple):
        flat = np.ravel_multi_index(tuple(np.asarray(i, np.int64) for i in index), target.shape)
    else:
        flat = np.asarray(index, np.int64)
    if flat.size == 0:
        return
    if flat.size * 128 < target.size:  # np.add.at costs ~60 ns an element, bincount ~1 ns a slot
        np.add.at(target.reshape(-1), flat, values)
        return
    weights = np.broadcast_to(np.asarray(values, float), flat.shape)
    target += np.bincount(flat, weights, target.size).reshape(target.shape)


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
