"""Officers: police, customs, anti-corruption and prosecution staff as rows of one table (DESIGN §4).

Only officers whose choices the thesis describes are rows: drug-case officers (MVD anti-drug UBN
and patrol, thesis L1878), their regional managers (L1658-1666), customs and border officers at
the crossings (L1072, L1241), and the independent agencies that investigate police corruption
(AGDS from 2014, KNB; L1858-1880), whose strength is a rate in the scenario, not a headcount.
"""

from __future__ import annotations

import numpy as np

from northroute.world.table import Table

UBN, PATROL, CUSTOMS = 0, 1, 2
AGENCY_NAMES = ("UBN", "patrol", "customs")
LINE, MANAGER = 0, 1
RANK_NAMES = ("line officer", "manager")
HONEST, PROTECTOR, EXTORTIONIST, DEALER = 0, 1, 2, 3
SERVING, DISMISSED, CONVICTED = 0, 1, 2


class Officers(Table):
    COLUMNS = {
        "agency": np.dtype(np.int8),
        "rank": np.dtype(np.int8),
        "place": np.dtype(np.int16),  # region (police) or crossing (customs) as a place index
        "mode": np.dtype(np.int8),  # HONEST | PROTECTOR | EXTORTIONIST | DEALER
        "status": np.dtype(np.int8),  # SERVING | DISMISSED | CONVICTED
        "norm": np.dtype(np.float32),  # moral cost of corruption, salaries a month (M55)
        "since": np.dtype(np.int32),  # week of hiring: experience (M58)
        "corrupt_since": np.dtype(np.int32),
        "cases": np.dtype(np.int32),  # arrests made, whole career
        "illicit": np.dtype(np.float64),  # KZT taken in bribes, protection and extortion
    }

    def serving(self, agency: int | None = None, rank: int | None = None) -> np.ndarray:
        ok = self.status == SERVING
        if agency is not None:
            ok &= self.agency == agency
        if rank is not None:
            ok &= self.rank == rank
        return np.flatnonzero(ok)

    def drug_police(self, rank: int | None = None) -> np.ndarray:
        """Serving UBN and patrol officers (line and managers, or one rank): the drug police, without customs."""
        serving = self.serving(rank=rank)
        return serving[(self.agency[serving] == UBN) | (self.agency[serving] == PATROL)]

    def corrupt(self) -> np.ndarray:
        return np.flatnonzero((self.status == SERVING) & (self.mode != HONEST))
