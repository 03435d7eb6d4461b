"""Struct-of-arrays tables: agents and lots are rows of numpy columns, never Python objects."""

from __future__ import annotations

import numpy as np


class Table:
    """Columns of equal length with amortised appends.

    Columns are stored with spare capacity; the attribute of each column is a view of the rows in
    use, refreshed after every append, so processes read and write `table.col` as a plain array.
    Do not keep a column view across an `append`.
    """

    COLUMNS: dict[str, np.dtype] = {}
    DEFAULTS: dict[str, float] = {}

    def __init__(self, capacity: int = 16) -> None:
        self._cap = max(16, int(capacity))
        self._n = 0
        self._data = {name: np.zeros(self._cap, dtype) for name, dtype in self.COLUMNS.items()}
        self._refresh()

    def __len__(self) -> int:
        return self._n

    def _refresh(self) -> None:
        for name, arr in self._data.items():
            setattr(self, name, arr[: self._n])

    def append(self, count: int, **values: np.ndarray | float) -> np.ndarray:
        """Add `count` rows; unspecified columns take DEFAULTS (else 0). Returns the new row indices."""
        count = int(count)
        start = self._n
        if count <= 0:
            return np.arange(start, start, dtype=np.int64)
        need = start + count
        if need > self._cap:
            cap = max(need, int(self._cap * 1.25))
            for name, arr in self._data.items():
                grown = np.zeros(cap, arr.dtype)
                grown[:start] = arr[:start]
                self._data[name] = grown
            self._cap = cap
        unknown = set(values) - set(self.COLUMNS)
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)}")
        for name, arr in self._data.items():
            arr[start:need] = values.get(name, self.DEFAULTS.get(name, 0))
        self._n = need
        self._refresh()
        return np.arange(start, need, dtype=np.int64)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where `mask` is False (row indices change; only for tables nobody indexes)."""
        idx = np.flatnonzero(mask)
        for _name, arr in self._data.items():
            arr[: idx.size] = arr[idx]
        self._n = idx.size
        self._refresh()
