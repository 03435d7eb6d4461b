"""Scatter-add helpers: np.add.at is slow on large arrays, np.bincount is not."""

from __future__ import annotations

import numpy as np


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
