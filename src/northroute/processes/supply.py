"""Supply: Afghan heroin reaching Osh and Uzbekistan, Chu Valley cannabis, greenhouse growing.

Foreign suppliers sell whole lots to Kazakh traffickers for cash and go home (M8, thesis L1090
[P5]); a lot is created owned by a trafficker row who pays the source price. Whether it is bound
for Russia or for buyers in Kazakhstan is the trafficker's choice (prices.export_probability).
Heroin sent into Kazakhstan falls as the share of a lot expected seized on its way rises: flows are
displaced to other routes (M46, L1225, L1279-1281 [P26], L2081). It also falls from 2012 to 2016 with the
Northern Route's regional decline (CADAP, L1225, L1378), whatever Kazakhstan does.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from northroute.processes.prices import cover_shares, expected_crossing_loss, route_survival, source_price_per_g
from northroute.scenario import Scenario, SupplyParams
from northroute.world.arrays import scatter_add
from northroute.world.geography import read_table
from northroute.world.people import HASHISH, HEROIN, MARIJUANA, TRAFFICKER
from northroute.world.state import WEEKS_PER_YEAR, World

LOT_SIGMA = 0.9  # assumption: log-sd of lot sizes (shipments of 10 kg "or even larger" and 100 kg, L1201-1203 [P13])
GREENHOUSE_REGIONS = ("ZHA", "YUZ", "KAR", "AKT", "KZY")  # thesis L1341
WARM_START_WEEKS = 8  # assumption: about the length of the longest route in weekly legs
HEROIN_SOURCES = ("OSH", "UZB")  # heroin reaches Kazakhstan from Kyrgyzstan and Uzbekistan (L1277 [P13], L2029)
MAX_ROUTE_GROWTH = 2.0  # assumption: when Kazakh routes grow safer than in 2012, arrivals at most double
DECLINE_FROM = 2012  # the Northern Route's decline counts from the year supply.heroin_kg_per_year describes
GREENHOUSE_LOT_DIVISOR = 3  # assumption: greenhouse lots a third the size of wild marijuana lots
MANY_LOTS_PER_WEEK = 50_000  # assumption: 8 years at scale 0.01: 6 s, 0.5 GB at the defaults; 122 s, 3.2 GB at 103,000


@lru_cache(maxsize=1)
def _afghan() -> dict[int, float]:
    df = read_table("afghan_opium.csv")
    return dict(zip(df["year"].astype(int), df["opium_t"].astype(float), strict=True))


def afghan_factor(year: int, elasticity: float) -> float:
    """Heroin arrivals relative to 2012, following Afghan opium of the previous year."""
    if elasticity == 0.0:
        return 1.0
    table = _afghan()
    prev = table.get(year - 1, table[max(table)] if year - 1 > max(table) else table[min(table)])
    return (prev / table[2011]) ** elasticity


def northern_factor(year: int, decline: float, until: int) -> float:
    """Heroin arrivals relative to 2012, the year `supply.heroin_kg_per_year` describes, on a Northern
    Route that lost flow to the Balkan and southern routes (CADAP, L1225, L1378): one step each January,
    as the evidence is yearly totals; years before 2012 (the burn-in) keep 2012's level."""
    return (1.0 - decline) ** (min(max(year, DECLINE_FROM), until) - DECLINE_FROM)


def route_loss(world: World) -> np.ndarray:
    """Per source of `HEROIN_SOURCES`: share of a heroin lot expected seized before it reaches Russia,
    over the source's routes: what the current inspections and corrupt customs officers imply (M48), not
    the last few seizures, which at small scales are a handful of lots."""
    geo = world.geo
    survival = route_survival(world, expected_crossing_loss(world))
    out = np.zeros(len(HEROIN_SOURCES))
    for i, source in enumerate(HEROIN_SOURCES):
        routes = geo.routes_from(source, HEROIN)
        lost = 1.0 - survival[routes, geo.route_len[routes] - 1]
        share = geo.route_share[routes]
        out[i] = (share * lost).sum() / share.sum()
    return out


def displacement(world: World) -> np.ndarray:
    """Per source of `HEROIN_SOURCES`: heroin arrivals relative to the start of the run, (loss then /
    loss now) ^ elasticity; 1 during the burn-in, and 1 for a source whose routes lost nothing at the
    start (no searches, or searches that never detect), since a ratio to no risk says nothing.

    Traffickers adapt to a route's risk by moving flows elsewhere (L2081; CADAP, L1225): when the
    anti-corruption drive removes corrupt customs officers, more searches find lots and less heroin
    is sent through Kazakhstan (M46)."""
    theta = world.scenario.supply.route_elasticity
    if theta == 0.0 or world.route_loss_start.size == 0:
        return np.ones(len(HEROIN_SOURCES))
    start = world.route_loss_start
    now = np.maximum(route_loss(world), 1e-12)
    return np.where(start > 0, np.minimum((start / now) ** theta, MAX_ROUTE_GROWTH), 1.0)


def harvest_weight(month: int, start: int, months: int, in_season_share: float) -> float:
    """Share of a year's wild harvest shipped in one week of the given month."""
    season = {(start - 1 + k) % 12 + 1 for k in range(months)}
    weeks_in = months * WEEKS_PER_YEAR / 12
    if month in season:
        return in_season_share / weeks_in
    return (1.0 - in_season_share) / (WEEKS_PER_YEAR - weeks_in)


def _lot_sizes(rng: np.random.Generator, kg_this_week: float, median_kg: float) -> np.ndarray:
    """Lot sizes in grams; the number of lots is Poisson with the right expected total."""
    if kg_this_week <= 0:
        return np.zeros(0)
    mean = median_kg * np.exp(LOT_SIGMA**2 / 2)
    n = rng.poisson(kg_this_week / mean)
    return 1000.0 * median_kg * np.exp(LOT_SIGMA * rng.standard_normal(n))


def lots_per_week(supply: SupplyParams, scale: float | np.ndarray,
                  **varied: np.ndarray) -> float | np.ndarray:
    """The lots that enter the routes in an average week at the start's supply parameters (before the heroin
    decline and displacement); with lots that follow the scale their number does not depend on it. `varied`
    gives supply fields as arrays (a study's design points), which broadcast against the others."""
    def get(name: str) -> float | np.ndarray:
        return varied.get(name, getattr(supply, name))

    lot_scale = np.where(varied.get("lots_follow_scale", supply.lots_follow_scale), scale, 1.0)
    flows = ((get("heroin_kg_per_year"), get("heroin_lot_kg")), (get("marijuana_kg_per_year"), get("marijuana_lot_kg")),
             (get("hashish_kg_per_year"), get("hashish_lot_kg")),
             (get("greenhouse_kg_per_year"), get("marijuana_lot_kg") / GREENHOUSE_LOT_DIVISOR))
    mean_lot = np.exp(LOT_SIGMA**2 / 2) * lot_scale
    n = sum(kg * scale / (median * mean_lot) for kg, median in flows) / WEEKS_PER_YEAR
    return float(n) if np.ndim(n) == 0 else n


def many_lots_line(lots: str) -> str:
    """The warning that `lots` (how many lots a week enter the routes) are many: the defaults' number, what to do."""
    default = lots_per_week(SupplyParams(), 1.0)
    return (f"{lots} (the defaults make about {default:,.0f}); a run's time and memory grow with them "
            "(raise supply.*_lot_kg to make fewer, larger lots)")


def many_lots(scen: Scenario) -> list[str]:
    """A warning line when a scenario's supply makes so many lots that the run will be slow and large; [] if not."""
    n = lots_per_week(scen.supply, scen.population.scale)
    return [] if n <= MANY_LOTS_PER_WEEK else [many_lots_line(f"about {n:,.0f} lots a week enter the routes")]


def _traffickers(world: World, group: int) -> np.ndarray:
    p = world.people
    rows = p.rows(TRAFFICKER)
    return rows[p.substance[rows] == group]


def create_lots(world: World, rng: np.random.Generator, substance: int, grams: np.ndarray,
                routes: np.ndarray, route_weights: np.ndarray, pos: int = 0, age: int = 0) -> None:
    """Create lots on the given routes, bought by traffickers at the source price.

    `age` > 0 places lots bought that many weeks ago further down their route (warm start).
    """
    n = grams.size
    group = HEROIN if substance == HEROIN else MARIJUANA
    owners = _traffickers(world, group)
    if n == 0 or owners.size == 0:  # with no trafficker of the drug left (all in prison) nobody buys at the source
        return
    geo = world.geo
    route = routes[rng.choice(routes.size, n, p=route_weights / route_weights.sum())]
    pos = np.minimum(pos + age, geo.route_len[route] - 2)
    owner = owners[rng.integers(0, owners.size, n)]
    purity = world.scenario.supply.heroin_purity if substance == HEROIN else world.scenario.supply.cannabis_purity
    export = rng.random(n) < world.export_prob[route, substance]
    cover = rng.choice(4, n, p=cover_shares(world))
    price = source_price_per_g(world)[substance]
    world.lots.append(n, substance=substance, cover=cover, export=export, route=route, pos=pos,
                      owner=owner, born=world.t - age, bulk_g=grams, pure_g=grams * purity)
    scatter_add(world.people.cash, owner, -(grams * price))
    led = world.ledger
    led.supplied_bulk += float(grams.sum())
    led.supplied_pure += float((grams * purity).sum())
    scatter_add(world.week.route_supply_g[:, substance], route, grams)
    scatter_add(world.week.cover_supply_g[:, substance], cover, grams)
    world.log("supply", person=owner, place=geo.route_nodes[route, pos], substance=substance, grams=grams)


def init(world: World, rng: np.random.Generator) -> None:
    """Warm start: the routes hold the lots bought in the weeks before the run begins."""
    for age in range(1, WARM_START_WEEKS + 1):
        deliver(world, rng, age)


def step(world: World, rng: np.random.Generator) -> None:
    if world.t == world.burn_in:  # the routes' risk when recording starts is the reference for displacement
        world.route_loss_start = route_loss(world)
    deliver(world, rng)


def deliver(world: World, rng: np.random.Generator, age: int = 0) -> None:
    """One week of arrivals at the sources (bought `age` weeks ago)."""
    s, geo, scale, lot = world.scenario.supply, world.geo, world.scale, world.lot_scale
    d = world.date
    per_week = scale / WEEKS_PER_YEAR

    heroin_kg = (s.heroin_kg_per_year * per_week * afghan_factor(d.year, s.afghan_elasticity)
                 * northern_factor(d.year, s.northern_decline, s.northern_decline_until))
    shares = (1.0 - s.heroin_uzbek_share, s.heroin_uzbek_share)
    for code, share, displaced in zip(HEROIN_SOURCES, shares, displacement(world), strict=True):
        routes = geo.routes_from(code, HEROIN)
        grams = _lot_sizes(rng, heroin_kg * share * displaced, s.heroin_lot_kg * lot)
        create_lots(world, rng, HEROIN, grams, routes, geo.route_share[routes], age=age)

    chu = geo.routes_from("CHU", MARIJUANA)
    wild = s.marijuana_kg_per_year * scale * harvest_weight(d.month, s.harvest_start_month,
                                                           s.harvest_months, s.harvest_share)
    create_lots(world, rng, MARIJUANA, _lot_sizes(rng, wild, s.marijuana_lot_kg * lot), chu, geo.route_share[chu],
                age=age)
    hash_routes = geo.routes_from("CHU", HASHISH)
    create_lots(world, rng, HASHISH, _lot_sizes(rng, s.hashish_kg_per_year * per_week, s.hashish_lot_kg * lot),
                hash_routes, geo.route_share[hash_routes], age=age)

    if s.greenhouse_kg_per_year > 0 and age == 0:
        each = s.greenhouse_kg_per_year * per_week / len(GREENHOUSE_REGIONS)
        for code in GREENHOUSE_REGIONS:
            node = geo.index(code)
            on = np.flatnonzero(geo.route_carries[:, MARIJUANA] & (geo.route_nodes == node).any(axis=1))
            if on.size == 0:
                continue
            grams = _lot_sizes(rng, each, s.marijuana_lot_kg * lot / GREENHOUSE_LOT_DIVISOR)
            route = on[:1]
            pos = int(np.flatnonzero(geo.route_nodes[route[0]] == node)[0])
            create_lots(world, rng, MARIJUANA, grams, route, np.ones(1), pos=pos)
