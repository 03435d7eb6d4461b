"""Sparse ties between people: trade between the upper tiers, introductions, vouching, prison.

Dense, group-like relations live in People columns instead (kin groups of the community, co-use
circles of users, a dealer's supplier); this table holds the pair ties that matter for entry,
vouching and exposure and that the network snapshots export. Edges are rows of numpy columns;
neighbour queries gather the ties touching the asked rows and group them by a counting sort (a CSR
view over those rows only).
"""

from __future__ import annotations

import numpy as np

from northroute.world.arrays import stable_order
from northroute.world.table import Table

TRADE, INTRO, VOUCH, PRISON = 0, 1, 2, 3
TIE_KINDS = ("trade", "intro", "vouch", "prison")


class Ties(Table):
    COLUMNS = {
        "src": np.dtype(np.int32),  # seller, introducer, voucher; either side for prison
        "dst": np.dtype(np.int32),  # buyer, entrant
        "kind": np.dtype(np.int8),
        "first": np.dtype(np.int32),  # week the tie formed
        "last": np.dtype(np.int32),  # week it was last used
        "uses": np.dtype(np.int32),  # times used
    }

    def add(self, src: np.ndarray, dst: np.ndarray, kind: int, week: int) -> np.ndarray:
        """New ties of one kind (introductions, vouching, prison): no merging. Returns their rows."""
        return self.append(np.size(src), src=src, dst=dst, kind=kind, first=week, last=week, uses=1)

    def merge_trade(self, src: np.ndarray, dst: np.ndarray, week: int) -> None:
        """Record deals: an existing seller-buyer pair counts its uses, a new pair becomes a tie."""
        if np.size(src) == 0:
            return
        pairs, uses = np.unique(src.astype(np.int64) << 32 | dst.astype(np.int64), return_counts=True)
        trade = np.flatnonzero(self.kind == TRADE)
        known = self.src[trade].astype(np.int64) << 32 | self.dst[trade].astype(np.int64)
        order = np.argsort(known)
        pos = np.searchsorted(known[order], pairs)
        found = pos < known.size
        found[found] = known[order][pos[found]] == pairs[found]
        rows = trade[order[pos[found]]]
        self.uses[rows] += uses[found].astype(np.int32)
        self.last[rows] = week
        new = pairs[~found]
        n = self.add((new >> 32).astype(np.int32), (new & 0xFFFFFFFF).astype(np.int32), TRADE, week)
        self.uses[n] = uses[~found]

    def forget_trade(self, before_week: int) -> None:
        """Trade ties unused since `before_week` fade; other kinds stay."""
        self.keep((self.kind != TRADE) | (self.last >= before_week))

    def neighbours(self, rows: np.ndarray, kinds: tuple[int, ...], n_people: int) -> tuple[np.ndarray, np.ndarray]:
        """(who, other) pairs: every tie of the given kinds touching `rows` (unique), both directions.

        Pairs come grouped in the order of `rows`; within a person, ties he is the source of come
        first, each side in table order. Only the ties touching `rows` are gathered, so a query for a
        few hundred people does not pay for an index over the whole population."""
        pos = np.full(n_people, -1, np.int64)
        pos[rows] = np.arange(rows.size)
        sel = np.isin(self.kind, kinds)
        out_src = sel & (pos[self.src] >= 0)
        out_dst = sel & (pos[self.dst] >= 0)
        who = np.concatenate([self.src[out_src], self.dst[out_dst]])
        other = np.concatenate([self.dst[out_src], self.src[out_dst]])
        order = stable_order(pos[who], rows.size)
        return who[order].astype(np.int64), other[order]
