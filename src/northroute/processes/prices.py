"""Prices by place, substance and level, formed from cost, markup, scarcity and risk (M10).

Nothing here imposes the 2012 prices of Table 5.6: the wholesale price is the landed cost of a
gram (source price, transport, and a risk premium 1/survival for the share of lots seized on the
way, after Reuter & Kleiman's 'risks and prices') times the traffickers' markup and a scarcity
factor from wholesalers' stock cover; the retail price is the wholesaler's cost of a street gram
after two rounds of cutting, plus the retail dealer's in-kind pay (thesis L964 [DE11]), times the
retail markup and retail scarcity. Prices move part of the way to that target each week.

Domestic arrest risk (Reuter & Kleiman 1986; Caulkins & Reuter 1998): each tier's margin is paid
for the prison time its sellers expect, and its cost of goods for the stock lost at arrest. The
risk is what the simulated sellers experience: arrests and sentences of retail dealers (retail
tier) and of wholesalers and traffickers (the kilogram trade, wholesale tier), smoothed nationally
by drug. The markups are read as those of the first year (Table 5.6 is 2012), so they already pay
for the prison risk of a reference window; only the change from it moves the margins. Traffickers
weigh a domestic sale net of the extra risk premium, the cost of the risk they take by selling in
Kazakhstan (thesis L2031, hedged), so rising risk pushes lots to export until prices repay it.
"""

from __future__ import annotations

import numpy as np

from northroute.scenario import TraffickingParams
from northroute.world.arrays import scatter_add, sum_by
from northroute.world.geography import Geography
from northroute.world.people import HEROIN, RETAIL, TRAFFICKER, WHOLESALE
from northroute.world.shipments import BODY, CAR, RAIL, TRUCK
from northroute.world.state import N_SUBSTANCES, WEEKS_PER_YEAR, World

RETAIL_TIER, KILO_TIER = 0, 1
# Who sells at the retail and at the wholesale price. Traffickers are pooled with the wholesalers they sell
# to (the kilogram trade inside Kazakhstan) because their own arrests are too rare to measure (assumption).
TIER_ROLES = ((RETAIL,), (WHOLESALE, TRAFFICKER))  # sellers at the retail and at the wholesale price
REFERENCE_WEEKS = 52  # assumption: markups are those of the first recorded year (Table 5.6 is 2012)
MAX_STOCK_LOSS = 0.5  # assumption: cap on the share of stock expected lost at arrest (numerical safety)


def source_price_per_g(world: World) -> np.ndarray:
    """What traffickers pay at the sources, by drug (KZT/g; the scenario gives KZT/kg)."""
    s = world.scenario.supply
    return np.array([s.heroin_source_price, s.marijuana_source_price, s.hashish_source_price]) / 1000.0


def russia_price_per_g(world: World, reference: bool = False) -> np.ndarray:
    """Prices at the Russian hubs; `reference` gives the schema defaults the export share is set at."""
    t = TraffickingParams() if reference else world.scenario.trafficking
    return np.array([t.heroin_russia_price, t.marijuana_russia_price, t.hashish_russia_price]) / 1000.0


def cover_shares(world: World) -> np.ndarray:
    """Shares of lots by truck, car, rail and carried on the body (the rest); shares summing above 1 are
    rescaled, and the body share is clipped at 0, as the rescaled sum can exceed 1 by a rounding error."""
    t = world.scenario.trafficking
    shares = np.array([t.truck_share, t.car_share, t.rail_share, 0.0])
    total = shares.sum()
    if total > 1.0:
        shares /= total
    shares[BODY] = max(0.0, 1.0 - shares.sum())
    return shares


def staging_posts(geo: Geography) -> np.ndarray:
    """Kazakh hubs, where lots are unloaded, repacked and split (L1309 [DE7]) and police operations seize
    most heroin (L1317 [P23])."""
    return geo.is_hub & geo.in_kazakhstan


def search_probability(world: World) -> np.ndarray:
    """Chance per place and cover that a lot arriving there is searched.

    At a crossing: inspections / legitimate traffic (M48), which falls as legitimate traffic per inspector
    rises: ">3,000 trucks can pass during a day" (L1241 [P20]), scaled by the attention the vehicle draws.
    At a staging post: `staging_search_rate` for every cover (assumption: operations there follow informants
    and handovers, not number plates; corrupt police do not waive them, as the thesis names no such deal).
    """
    geo, t = world.geo, world.scenario.trafficking
    base = np.divide(geo.inspections_per_day * t.inspection_multiplier, geo.trucks_per_day,
                     out=np.zeros(geo.n), where=geo.trucks_per_day > 0)
    attention = np.zeros(4)
    # assumption: rail wagons and body carriers draw the base attention; the thesis speaks only of trucks and cars
    attention[[TRUCK, CAR, RAIL, BODY]] = [t.truck_attention, t.car_attention, 1.0, 1.0]
    if world.customs_corrupt.size:  # corrupt customs officers skip some searches (M48, L1072 [DE3])
        base = base * (1.0 - world.scenario.corruption.customs_waive * world.customs_corrupt)
    staging = np.where(staging_posts(geo), t.staging_search_rate, 0.0)
    return np.minimum(1.0, base[:, None] * attention[None, :] + staging[:, None])


def truck_search_chance(world: World) -> float:
    """Chance that a truck crossing the border this week is searched, over all crossings weighted by
    their truck traffic: what inspection means for the legitimate traffic that hides the lots (SF33,
    L1241 [P20]), not only for the few trucks that carry drugs. Customs corruption lowers it."""
    trucks = world.geo.trucks_per_day
    return float(search_probability(world)[:, TRUCK] @ trucks / trucks.sum())


def expected_crossing_loss(world: World) -> np.ndarray:
    """Expected share of lots seized at each place, over the cover mix."""
    p = search_probability(world) * world.scenario.trafficking.detect_if_searched
    return p @ cover_shares(world)


def route_survival(world: World, crossing_loss: np.ndarray | None = None) -> np.ndarray:
    """[routes, positions] chance a lot survives the crossings up to and including each node, by the
    smoothed seizures seen (default) or by a given loss per place."""
    nodes = world.geo.route_nodes
    per_place = world.crossing_loss if crossing_loss is None else crossing_loss
    loss = np.where(nodes >= 0, per_place[np.maximum(nodes, 0)], 0.0)
    return np.cumprod(1.0 - loss, axis=1)


def route_weight(world: World) -> np.ndarray:
    """Share of each substance's supply that takes each route: the route's share among routes from
    its source, times the source's share (Osh or Uzbekistan for heroin)."""
    geo, uz = world.geo, world.scenario.supply.heroin_uzbek_share
    from_uzb = geo.route_nodes[:, 0] == geo.index("UZB")
    source = np.where(geo.route_carries[:, HEROIN], np.where(from_uzb, uz, 1.0 - uz), 1.0)
    return geo.route_share * source


def landed_cost(world: World) -> np.ndarray:
    """[places, substances] cost of a gram delivered to each region node, risk premium included."""
    geo = world.geo
    src = source_price_per_g(world)
    tc = world.scenario.trafficking.transport_cost_per_1000km
    surv = route_survival(world)
    # a route its source sends nothing along (e.g. Osh at supply.heroin_uzbek_share = 1) still prices the nodes
    # only it serves, as if a little came: their goods would cost that, and scarcity does the rest
    weight = route_weight(world)
    weight = np.where(weight > 0, weight, 1e-9 * geo.route_share)
    # every (route, drug it carries, position on the route), route by route: the sums below add in that order
    route, s = np.nonzero(geo.route_carries)
    length = geo.route_len[route]
    pair = np.repeat(np.arange(route.size), length)
    r, s = route[pair], s[pair]
    j = np.arange(pair.size) - np.repeat(np.cumsum(length) - length, length)
    cost = src[s] * (1.0 + tc * geo.route_km[r, j] / 1000.0) / np.maximum(surv[r, j], 1e-9)
    num = np.zeros((geo.n, N_SUBSTANCES))
    den = np.zeros((geo.n, N_SUBSTANCES))
    scatter_add(num, (geo.route_nodes[r, j], s), weight[r] * cost)
    scatter_add(den, (geo.route_nodes[r, j], s), weight[r])
    out = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.take_along_axis(out, geo.buy_node.T, axis=0)


def cutting(world: World) -> np.ndarray:
    """The share of cutting agent added at each hand-over, by drug (heroin has its own rate)."""
    m = world.scenario.market
    a = np.full(N_SUBSTANCES, m.cannabis_adulteration)
    a[HEROIN] = m.adulteration
    return a


def _cover(world: World, role: int) -> np.ndarray:
    """Weeks of sales in stock per region and substance for one dealer level."""
    p = world.people
    rows = p.rows(role)
    size = world.geo.n * N_SUBSTANCES
    stock = sum_by(rows, p.market, p.stock_g, size).reshape(-1, N_SUBSTANCES)
    sales = sum_by(rows, p.market, p.demand_ewma, size).reshape(-1, N_SUBSTANCES)
    return np.divide(stock, sales, out=np.full_like(stock, np.nan), where=sales > 0)


def _scarcity(cover: np.ndarray, target: float, elasticity: float) -> np.ndarray:
    ratio = np.where(np.isnan(cover), 1.0, cover / target)
    # assumption: scarcity moves the margin between half and three times its level at normal stocks
    return np.clip(np.maximum(ratio, 1e-3) ** -elasticity, 0.5, 3.0)


def sellers(world: World) -> np.ndarray:
    """[tier, substance] active domestic sellers (TIER_ROLES)."""
    p = world.people
    out = np.zeros((len(TIER_ROLES), N_SUBSTANCES))
    for tier, roles in enumerate(TIER_ROLES):
        for role in roles:
            out[tier] += np.bincount(p.substance[p.rows(role)], minlength=N_SUBSTANCES)
    return out


def measure_seller_risk(world: World) -> None:
    """Smooth this week's arrests and prison years of domestic sellers (justice) into rates per seller;
    in the reference year (`ref_window`, not the burn-in) also sum them for the reference prison rate."""
    n, wk = sellers(world), world.week
    seen = n > 0
    alpha = 1.0 / world.scenario.market.risk_memory_weeks
    arrests = np.divide(wk.seller_arrests, n, out=np.zeros_like(n), where=seen)
    years = np.divide(wk.seller_years, n, out=np.zeros_like(n), where=seen) * WEEKS_PER_YEAR
    world.arrest_hazard[seen] += alpha * (arrests[seen] - world.arrest_hazard[seen])
    world.prison_rate[seen] += alpha * (years[seen] - world.prison_rate[seen])
    first, end = ref_window(world)
    if first <= world.t < end:
        world.risk_reference += np.stack([n, wk.seller_years])


def risk_factor(world: World) -> np.ndarray:
    """[tier, substance] margin over the margin at the reference risk: (1 + k π) / (1 + k π_ref), with π
    the prison-years sentenced per seller-year and k `market.prison_time_weight`; 1 in the window."""
    if world.t < ref_window(world)[1]:
        return np.ones((len(TIER_ROLES), N_SUBSTANCES))
    k = world.scenario.market.prison_time_weight
    weeks, years = world.risk_reference
    ref = np.divide(years, weeks, out=np.zeros_like(years), where=weeks > 0) * WEEKS_PER_YEAR
    return (1.0 + k * world.prison_rate) / (1.0 + k * ref)


def selling_price(world: World, rows: np.ndarray) -> np.ndarray:
    """KZT that a gram each seller sells brings him, in his region and drug: the wholesale price for a
    trafficker, the retail price for a retail dealer, and for a wholesaler, who sells through his team on
    consignment (7.3), the retail price less the dealer's commission."""
    p = world.people
    region, substance, role = p.region[rows], p.substance[rows], p.role[rows]
    retail = world.price_retail[region, substance]
    consigned = retail * (1.0 - world.scenario.market.dealer_commission)
    return np.select([role == TRAFFICKER, role == WHOLESALE], [world.price_wholesale[region, substance], consigned],
                     retail)


def takings(world: World, rows: np.ndarray) -> np.ndarray:
    """Weekly takings of each seller: his smoothed sales at his selling price; a wholesaler's sales are his
    team's (runners through their leaders included), the street grams their customers ask for."""
    p = world.people
    sales = p.demand_ewma[rows].astype(float)
    wh = np.flatnonzero(p.role[rows] == WHOLESALE)
    if wh.size:
        rd = p.rows(RETAIL)
        boss = p.boss(rd)
        ok = boss >= 0
        team = np.bincount(boss[ok], p.demand_ewma[rd[ok]], minlength=len(p))
        sales[wh] = team[rows[wh]]
    return sales * selling_price(world, rows)


def stock_loss(world: World) -> np.ndarray:
    """[tier, substance] share of stock bought that is expected lost at arrest: weekly arrest hazard x
    weeks of sales held (the tiers' target covers)."""
    m = world.scenario.market
    cover = np.array([m.retail_cover_weeks, m.stock_cover_weeks])[:, None]
    return np.minimum(world.arrest_hazard * cover, MAX_STOCK_LOSS)


def target_prices(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Wholesale and retail targets: cost of goods over (1 - stock lost at arrest), plus the margin
    (markup - 1) scaled by the tier's risk factor, times scarcity."""
    m = world.scenario.market
    factor, loss = risk_factor(world), stock_loss(world)
    wholesale = landed_cost(world) / (1.0 - loss[KILO_TIER]) * (1.0 + (m.trafficker_markup - 1.0) * factor[KILO_TIER])
    wholesale *= _scarcity(_cover(world, WHOLESALE), m.stock_cover_weeks, m.scarcity_elasticity)
    a = cutting(world)
    street_cost = wholesale * (1.0 - a) ** 2 * (1.0 + m.dealer_commission) / (1.0 - loss[RETAIL_TIER])
    retail = street_cost * (1.0 + (m.retail_markup - 1.0) * factor[RETAIL_TIER])
    retail *= _scarcity(_cover(world, RETAIL), m.retail_cover_weeks, m.scarcity_elasticity)
    return wholesale, retail


def risk_premium_share(world: World) -> np.ndarray:
    """[substances] share of the wholesale target that pays for domestic arrest risk above the reference
    (prison time and stock lost): 1 - markup x (1 - loss) / (1 + (markup - 1) x factor)."""
    m = world.scenario.market
    factor, loss = risk_factor(world)[KILO_TIER], stock_loss(world)[KILO_TIER]
    return 1.0 - m.trafficker_markup * (1.0 - loss) / (1.0 + (m.trafficker_markup - 1.0) * factor)


def export_value_ratio(world: World, reference: bool = False, target: np.ndarray | None = None) -> np.ndarray:
    """[routes, substances] log of expected export value over expected domestic value of a lot.

    Export: the Russian price times the chance of reaching the hub; domestic: the wholesale price less
    the domestic risk premium (what selling in Kazakhstan costs the trafficker in expected prison time
    and lost stock, above the reference risk), times the chance of reaching each Kazakh region of the
    route, averaged over those regions.
    """
    geo = world.geo
    surv = route_survival(world)
    ru = russia_price_per_g(world, reference)
    target = target_prices(world)[0] if target is None else target
    net = world.price_wholesale - target * risk_premium_share(world)  # what a domestic sale leaves him
    n_routes = len(geo.route_names)
    v_dom = np.zeros((n_routes, N_SUBSTANCES))
    regions = geo.is_region[np.maximum(geo.route_nodes, 0)] & (geo.route_nodes >= 0)  # [routes, positions]
    n_regions = regions.sum(axis=1)
    for m in np.unique(n_regions):  # routes with as many regions at once; each row is averaged on its own
        r = np.flatnonzero(n_regions == m)
        r_pos, pos = np.nonzero(regions[r])
        r_pos, pos = r[r_pos].reshape(-1, m), pos.reshape(-1, m)
        value = net[geo.route_nodes[r_pos, pos]] * surv[r_pos, pos][..., None]  # [routes, regions, substances]
        v_dom[r] = np.ascontiguousarray(value.transpose(0, 2, 1)).mean(axis=2)
    v_exp = ru[None, :] * surv[np.arange(n_routes), geo.route_len - 1][:, None]
    return np.log(np.maximum(v_exp, 1e-9) / np.maximum(v_dom, 1e-9))


def export_probability(world: World, target: np.ndarray | None = None) -> np.ndarray:
    """[routes, substances] chance a trafficker sends a new lot on to Russia (thesis L2031, hedged).

    A logit in the export/domestic value ratio, centred so that `trafficking.export_share` of lots go
    to Russia at the first week's domestic prices and the reference (default) Russian prices; a
    scenario with other Russian prices, and any later change of domestic prices, moves the share.
    """
    t = world.scenario.trafficking
    z = world.export_bias + t.export_sensitivity * export_value_ratio(world, target=target)
    return 1.0 / (1.0 + np.exp(-z))


def init(world: World, rng: np.random.Generator) -> None:
    world.crossing_loss = expected_crossing_loss(world)
    world.price_wholesale, world.price_retail = target_prices(world)
    t = world.scenario.trafficking
    share = t.export_share
    ratio = export_value_ratio(world, True, world.price_wholesale)
    world.export_bias = np.log(share / (1 - share)) - t.export_sensitivity * ratio
    world.export_prob = export_probability(world, world.price_wholesale)
    world.price_ref_sum = np.zeros_like(world.price_retail)


def step(world: World, rng: np.random.Generator) -> None:
    measure_seller_risk(world)
    lam = world.scenario.market.price_adjustment
    wholesale, retail = target_prices(world)
    world.price_wholesale += lam * (wholesale - world.price_wholesale)
    world.price_retail += lam * (retail - world.price_retail)
    world.export_prob = export_probability(world, wholesale)
    first, end = ref_window(world)
    if first <= world.t < end:
        world.price_ref_sum += world.price_retail
        if world.t == end - 1:
            world.price_retail_ref = world.price_ref_sum / (end - first)


def ref_window(world: World) -> tuple[int, int]:
    """Weeks whose conditions make the references: the first recorded year (Table 5.6 is 2012), a whole year
    so that the cannabis harvest season averages out; the users' prices and starting (7.4) and the sellers'
    prison risk that the markups already pay for (7.6)."""
    return world.burn_in, world.burn_in + REFERENCE_WEEKS
