"""Vectorised matching of people to partners within groups (region x substance keys).

These kernels replace per-agent loops: every query is matched in one pass of sorting and
counting, so cost grows as n log n with no Python loop over agents.
"""

from __future__ import annotations

import numpy as np

from northroute.world.arrays import stable_order


def _groups(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = stable_order(keys, n_keys)
    counts = np.bincount(keys, minlength=n_keys)
    starts = np.cumsum(counts) - counts
    return order, starts, counts


def rank_in_group(sorted_keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Position of each element among equal keys, for keys already sorted."""
    counts = np.bincount(sorted_keys, minlength=n_keys)
    starts = np.cumsum(counts) - counts
    return np.arange(sorted_keys.size) - starts[sorted_keys]


class Groups:
    """Candidates sorted by key once, for many random picks (e.g. a month of newcomers)."""

    def __init__(self, cand_rows: np.ndarray, cand_keys: np.ndarray, n_keys: int) -> None:
        order, self.starts, self.counts = _groups(cand_keys, n_keys)
        self.sorted_rows = cand_rows[order]

    def pick(self, rng: np.random.Generator, query_keys: np.ndarray) -> np.ndarray:
        """For each query, a uniformly random candidate with the same key (-1 where there is none)."""
        out = np.full(query_keys.size, -1, np.int64)
        if self.sorted_rows.size == 0 or query_keys.size == 0:
            return out
        c = self.counts[query_keys]
        ok = c > 0
        off = (rng.random(int(ok.sum())) * c[ok]).astype(np.int64)
        out[ok] = self.sorted_rows[self.starts[query_keys[ok]] + off]
        return out


def random_member(rng: np.random.Generator, query_keys: np.ndarray, cand_rows: np.ndarray,
                  cand_keys: np.ndarray, n_keys: int) -> np.ndarray:
    """For each query, a uniformly random candidate with the same key (-1 where there is none)."""
    return Groups(cand_rows, cand_keys, n_keys).pick(rng, query_keys)


def fill_slots(rng: np.random.Generator, query_keys: np.ndarray, slot_owner: np.ndarray,
               slot_keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Give each query a distinct open slot with its key, slots in random order (-1 if none left)."""
    out = np.full(query_keys.size, -1, np.int64)
    if slot_owner.size == 0 or query_keys.size == 0:
        return out
    shuffle = rng.permutation(slot_owner.size)
    slot_owner, slot_keys = slot_owner[shuffle], slot_keys[shuffle]
    s_order, s_starts, s_counts = _groups(slot_keys, n_keys)
    q_order = stable_order(query_keys, n_keys)
    qk = query_keys[q_order]
    rank = rank_in_group(qk, n_keys)
    ok = rank < s_counts[qk]
    out[q_order[ok]] = slot_owner[s_order[s_starts[qk[ok]] + rank[ok]]]
    return out


def top_k_per_group(keys: np.ndarray, score: np.ndarray, k_per_key: np.ndarray) -> np.ndarray:
    """Indices of the k highest-scoring elements of each key (k given per key)."""
    if keys.size == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-score, kind="stable")
    order = order[stable_order(keys[order], k_per_key.size)]  # by key, best first: np.lexsort((-score, keys))
    rank = rank_in_group(keys[order], k_per_key.size)
    return order[rank < k_per_key[keys[order]]]


def slots(owners: np.ndarray, open_count: np.ndarray) -> np.ndarray:
    """One entry per open slot, naming its owner."""
    return np.repeat(owners, np.maximum(open_count, 0).astype(np.int64))
