"""People: users, retail dealers, wholesalers and traffickers as rows of one table.

Later processes (policing, prison, relations) add states and columns here; role and status codes
are shared constants so every module speaks the same language.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numba import njit

from northroute.world.table import Table

USER, RETAIL, WHOLESALE, TRAFFICKER = 0, 1, 2, 3
ROLE_NAMES = ("user", "retail", "wholesale", "trafficker")

ACTIVE, OUT, PRISON = 0, 1, 2

HEROIN, MARIJUANA, HASHISH = 0, 1, 2

COMMUNITY, EXCLUDED, VORY, LEADER = 1, 2, 4, 8  # bits of People.flags
NOT_LEADER = np.uint8(0xFF ^ LEADER)  # mask that clears the LEADER bit
SUBSTANCE_NAMES = ("heroin", "marijuana", "hashish")


class People(Table):
    """One row per person. Grams are float64 so conservation holds to rounding."""

    COLUMNS = {
        "role": np.dtype(np.int8),
        "status": np.dtype(np.int8),
        "substance": np.dtype(np.int8),
        "region": np.dtype(np.int16),  # place index of home region
        "market": np.dtype(np.int32),  # region * 3 + substance: the local market a person trades in
        "supplier": np.dtype(np.int32),  # users: retail dealer; retail: wholesaler or leader; else -1
        "pool": np.dtype(np.int32),  # heroin buying pool: row of the pool's buyer, or -1
        "since": np.dtype(np.int32),  # week the current role started
        "entered": np.dtype(np.int32),  # week the person entered the market
        "addiction": np.dtype(np.float32),
        "income": np.dtype(np.float32),  # KZT per week
        "need_g": np.dtype(np.float32),  # grams wanted per week
        "demand_ewma": np.dtype(np.float32),  # grams asked of a dealer per week, smoothed
        "fill": np.dtype(np.float32),  # share of last week's need that was met (users)
        "ever_sold": np.dtype(np.bool_),
        "flags": np.dtype(np.uint8),  # COMMUNITY | EXCLUDED | VORY | LEADER bits
        "kin": np.dtype(np.int32),  # kin group of the community, or -1
        "circle": np.dtype(np.int32),  # co-use circle (users of one market), or -1
        "introducer": np.dtype(np.int32),  # who introduced him to the upper tier; -1 none, -2 before the run
        "voucher": np.dtype(np.int32),  # who vouches for his large purchases, or -1
        "reputation": np.dtype(np.float32),  # years of trading without a failure
        "exposure": np.dtype(np.float32),  # distinct counterparties per week, smoothed (M3)
        "protector": np.dtype(np.int32),  # officer row protecting him (wholesalers), or -1 (M49)
        "deal_since": np.dtype(np.int32),  # week his protection deal began (SF27b's cohort)
        "release": np.dtype(np.int32),  # week an inmate is released
        "convictions": np.dtype(np.int8),  # prison terms served or serving
        "scratch": np.dtype(np.int32),  # -1 except inside a `slots` block
        "cash": np.dtype(np.float64),
        "stock_g": np.dtype(np.float64),  # bulk grams held
        "pure_g": np.dtype(np.float64),  # pure grams in that bulk
    }
    DEFAULTS = {"supplier": -1, "pool": -1, "fill": 1.0, "scratch": -1, "kin": -1, "circle": -1,
                "introducer": -1, "voucher": -1, "protector": -1}

    def __init__(self, capacity: int = 16) -> None:
        super().__init__(capacity)
        self._by_role: dict[int, np.ndarray] = {}

    def append(self, count: int, **values) -> np.ndarray:
        """New rows come last, so cached index lists stay sorted by simply extending them."""
        rows = super().append(count, **values)
        self.market[rows] = self.region[rows].astype(np.int32) * 3 + self.substance[rows]
        new = rows[self.status[rows] == ACTIVE]
        for role, cached in self._by_role.items():
            self._by_role[role] = np.concatenate([cached, new[self.role[new] == role]])
        return rows

    @contextmanager
    def slots(self, rows: np.ndarray) -> Iterator[np.ndarray]:
        """Map person rows to 0..len(rows)-1 (other rows to -1) without allocating a table-sized array."""
        self.scratch[rows] = np.arange(rows.size, dtype=np.int32)
        try:
            yield self.scratch
        finally:
            self.scratch[rows] = -1

    def rows(self, role: int) -> np.ndarray:
        """Active rows of one role in increasing order, cached; roles and status change only through
        set_role and set_status, which keep the cache true."""
        if role not in self._by_role:  # a scan of two int8 columns is faster than gathering from a list
            self._by_role[role] = np.flatnonzero((self.status == ACTIVE) & (self.role == role))
        return self._by_role[role]

    def orphans(self, rows: np.ndarray, supplier_role: int, via_leader: bool = False) -> np.ndarray:
        """Those of `rows` whose supplier is not an active person of `supplier_role` (he left, was
        arrested or moved up), in one compiled pass; with `via_leader` an active mid-level leader (a
        retail dealer with the LEADER bit) is a valid supplier too."""
        return rows[self.orphaned(rows, supplier_role, via_leader)]

    def orphaned(self, rows: np.ndarray, supplier_role: int, via_leader: bool = False) -> np.ndarray:
        """Mask form of `orphans`."""
        return _orphaned(rows, self.supplier, self.status, self.role, self.flags, supplier_role,
                         LEADER if via_leader else 0)

    def leader_of(self, retail: np.ndarray) -> np.ndarray:
        """Each retail dealer's mid-level leader (his supplier, when that is an active leader), or -1."""
        sup = self.supplier[retail]
        s = np.maximum(sup, 0)
        ok = (sup >= 0) & (self.status[s] == ACTIVE) & (self.role[s] == RETAIL) & ((self.flags[s] & LEADER) != 0)
        return np.where(ok, sup, -1)

    def boss(self, retail: np.ndarray) -> np.ndarray:
        """The wholesaler above each retail dealer, directly or through his leader (-1 if none is active)."""
        sup = self.supplier[retail]
        lead = self.leader_of(retail)
        sup = np.where(lead >= 0, self.supplier[np.maximum(lead, 0)], sup)
        s = np.maximum(sup, 0)
        return np.where((sup >= 0) & (self.status[s] == ACTIVE) & (self.role[s] == WHOLESALE), sup, -1)

    def set_role(self, rows: np.ndarray, role: int) -> None:
        for r in np.unique(np.append(self.role[rows], role)):
            self._by_role.pop(int(r), None)
        self.role[rows] = role

    def set_status(self, rows: np.ndarray, status: int) -> None:
        """Leaving the market (the common case) removes rows from the cached lists in place."""
        rows = np.unique(rows)
        leaving = rows[(self.status[rows] == ACTIVE) & (status != ACTIVE)]
        self.status[rows] = status
        if status == ACTIVE or leaving.size < rows.size:
            self._by_role.clear()
            return
        for role, cached in self._by_role.items():
            self._by_role[role] = _without(cached, leaving[self.role[leaving] == role])


@njit(cache=True)
def _orphaned(rows, supplier, status, role, flags, supplier_role, leader_bit):
    out = np.zeros(rows.size, np.bool_)
    for i in range(rows.size):
        s = supplier[rows[i]]
        if s < 0 or status[s] != ACTIVE:
            out[i] = True
        else:
            leader = role[s] == RETAIL and (flags[s] & leader_bit) != 0
            out[i] = role[s] != supplier_role and not leader
    return out


def _without(sorted_rows: np.ndarray, remove: np.ndarray) -> np.ndarray:
    """`sorted_rows` minus `remove` (both sorted, `remove` a subset)."""
    if remove.size == 0:
        return sorted_rows
    keep = np.ones(sorted_rows.size, bool)
    keep[np.searchsorted(sorted_rows, remove)] = False
    return sorted_rows[keep]


def purity(stock_g: np.ndarray, pure_g: np.ndarray) -> np.ndarray:
    """Pure share of a holding; empty or rounding-level holdings count as 0."""
    out = np.divide(pure_g, stock_g, out=np.zeros(np.shape(stock_g)), where=stock_g > 1e-6)
    return np.clip(out, 0.0, 1.0)
