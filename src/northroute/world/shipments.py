"""Lots in transit: drugs moving along a route, hidden in a cover cargo."""

from __future__ import annotations

import numpy as np

from northroute.world.table import Table

TRUCK, CAR, RAIL, BODY = 0, 1, 2, 3
COVER_NAMES = ("truck", "car", "rail", "body")
COVER_WORDS = ("in long-distance trucks", "in cars and light vehicles", "on trains", "on the body")


class Lots(Table):
    COLUMNS = {
        "substance": np.dtype(np.int8),
        "cover": np.dtype(np.int8),
        "export": np.dtype(np.bool_),  # bound for Russia (else sold to wholesalers on the way)
        "route": np.dtype(np.int16),
        "pos": np.dtype(np.int16),  # index of the current node on the route
        "owner": np.dtype(np.int32),  # trafficker row in People
        "wait": np.dtype(np.int16),  # weeks spent at the current node
        "selling": np.dtype(np.bool_),  # found buyers at this node last week
        "born": np.dtype(np.int32),
        "bulk_g": np.dtype(np.float64),
        "pure_g": np.dtype(np.float64),
    }
