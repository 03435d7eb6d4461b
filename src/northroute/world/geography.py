"""Places, border crossings and routes, loaded from the package's data tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from northroute.world.people import HASHISH, HEROIN, MARIJUANA

DATA_FILES = (
    "places.csv",
    "routes.csv",
    "route_shares.csv",
    "prices_2012.csv",
    "seizures_2012_2017.csv",
    "drug_crimes_2015_2017.csv",
    "thresholds.csv",
    "afghan_opium.csv",
    "exchange_rates.csv",
)


def data_path(name: str):
    return resources.files("northroute") / "data" / name


def read_table(name: str) -> pd.DataFrame:
    with data_path(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def data_hashes() -> dict[str, str]:
    """sha256 of each shipped data table, recorded in every run's manifest."""
    return {n: hashlib.sha256(data_path(n).read_bytes()).hexdigest()[:16] for n in DATA_FILES}


@dataclass(frozen=True)
class Geography:
    codes: tuple[str, ...]
    names: tuple[str, ...]
    kind: np.ndarray  # str per place: region, foreign, source, crossing
    zone: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    is_hub: np.ndarray
    is_russia: np.ndarray
    trucks_per_day: np.ndarray
    inspections_per_day: np.ndarray
    corruption_level: np.ndarray  # int8 per place: +1 more corrupt, -1 less, 0 average (SF26, data/places.csv)
    region_of: np.ndarray  # per place: the region it lies in (itself for a region, -1 outside Kazakhstan)
    route_names: tuple[str, ...]
    route_nodes: np.ndarray  # [routes, max_len] place index, -1 padded
    route_len: np.ndarray  # nodes per route
    route_km: np.ndarray  # [routes, max_len] km from the route's start
    route_carries: np.ndarray  # [routes, 3] bool per substance
    route_share: np.ndarray  # share among routes leaving the same source node
    buy_node: np.ndarray  # [3, places]: node where a region's wholesalers buy each substance

    @property
    def n(self) -> int:
        return len(self.codes)

    # the arrays below are read every week: computed once (comparing strings costs more than the lookups) and
    # read-only, since one geography serves every run of a process
    @cached_property
    def is_region(self) -> np.ndarray:
        return _read_only(self.kind == "region")

    @cached_property
    def is_crossing(self) -> np.ndarray:
        return _read_only(self.kind == "crossing")

    @cached_property
    def in_kazakhstan(self) -> np.ndarray:
        """Kazakh regions and border crossings (a lot there has entered the country)."""
        return _read_only(self.is_region | self.is_crossing)

    @cached_property
    def regions(self) -> np.ndarray:
        return _read_only(np.flatnonzero(self.is_region))

    def index(self, code: str) -> int:
        return self.codes.index(code)

    @property
    def exit_posts(self) -> np.ndarray:
        """Per route, the crossing it leaves Kazakhstan by: every route ends at a Russian hub reached from a
        crossing (routes.csv)."""
        return self.route_nodes[np.arange(len(self.route_names)), self.route_len - 2]

    def routes_from(self, code: str, substance: int) -> np.ndarray:
        start = self.index(code)
        return np.flatnonzero((self.route_nodes[:, 0] == start) & self.route_carries[:, substance])


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


@lru_cache(maxsize=1)
def load_geography() -> Geography:
    places = read_table("places.csv")
    legs = read_table("routes.csv").sort_values(["route", "seq"], kind="stable")
    shares = read_table("route_shares.csv").set_index("route")["share"]
    codes = tuple(places["code"])
    idx = {c: i for i, c in enumerate(codes)}

    names = tuple(dict.fromkeys(legs["route"]))
    paths, kms, carries = [], [], []
    for name in names:
        rl = legs[legs["route"] == name]
        nodes = [idx[rl["from_code"].iloc[0]], *(idx[c] for c in rl["to_code"])]
        paths.append(nodes)
        kms.append(np.concatenate([[0.0], np.cumsum(rl["km"].to_numpy(float))]))
        subs = str(rl["substances"].iloc[0])
        carries.append([
            "heroin" in subs,
            "cannabis" in subs or "marijuana" in subs,
            "cannabis" in subs or "hashish" in subs,
        ])
    width = max(len(p) for p in paths)
    route_nodes = np.full((len(names), width), -1, np.int32)
    route_km = np.zeros((len(names), width))
    for r, (p, k) in enumerate(zip(paths, kms, strict=True)):
        route_nodes[r, : len(p)] = p
        route_km[r, : len(k)] = k
        route_km[r, len(k):] = k[-1]

    kind = places["kind"].to_numpy(str)
    lat, lon = places["lat"].to_numpy(float), places["lon"].to_numpy(float)
    carries_arr = np.array(carries, bool)
    buy_node = np.tile(np.arange(len(codes)), (3, 1))
    regions = np.flatnonzero(kind == "region")
    for s in (HEROIN, MARIJUANA, HASHISH):
        served = np.unique(route_nodes[carries_arr[:, s]])
        served = served[(served >= 0) & np.isin(served, regions)]
        for reg in regions:
            if reg not in served:
                dist = _haversine_km(lat[reg], lon[reg], lat[served], lon[served])
                buy_node[s, reg] = served[np.argmin(dist)]

    return Geography(
        codes=codes,
        names=tuple(places["name"]),
        kind=kind,
        zone=places["zone"].to_numpy(str),
        lat=lat,
        lon=lon,
        population=places["population_2012"].fillna(0).to_numpy(float),
        is_hub=places["is_hub"].to_numpy(bool),
        is_russia=(places["country"] == "RU").to_numpy(bool),
        trucks_per_day=places["trucks_per_day"].fillna(0).to_numpy(float),
        inspections_per_day=places["inspections_per_day"].fillna(0).to_numpy(float),
        corruption_level=places["corruption"].map({"high": 1, "low": -1}).fillna(0).to_numpy(np.int8),
        region_of=np.array([i if k == "region" else idx.get(r, -1)
                            for i, (k, r) in enumerate(zip(kind, places["region"].fillna(""), strict=True))]),
        route_names=names,
        route_nodes=route_nodes,
        route_len=np.array([len(p) for p in paths]),
        route_km=route_km,
        route_carries=carries_arr,
        route_share=np.array([float(shares.get(n, 1.0)) for n in names]),
        buy_node=buy_node,
    )
