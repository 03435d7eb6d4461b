"""Trade: traffickers sell to wholesalers, wholesalers supply retail dealers, dealers sell to users.

- Buy first, then look for buyers (M1, thesis L1004-1006 [P13]): lots bound for Kazakh buyers are
  offered to the wholesalers of each region they pass; whatever nobody takes travels on.
- A wholesaler supplies a small team of retail dealers on the thesis's contract (M27, L964 [DE11]):
  the dealer hands over all cash, gets a daily dose and 1 g for every 10 g sold.
- Each hand-over below trafficking is cut (`market.adulteration`), so purity falls down the chain
  (thesis L1406 [DE9]; UNODC via external-facts §4).
- Users buy from their own dealer, in pools for a discount (M35, L1084 [P11]); when their dealer is
  short they try one other dealer they can reach in their region.
Scarce stock is shared out in proportion to what each buyer asked for (`ration`), a vectorised rule
with no ordering of agents.
"""

from __future__ import annotations

import numpy as np

from northroute.processes.matching import random_member
from northroute.processes.prices import cutting
from northroute.world.people import ACTIVE, RETAIL, USER, WHOLESALE, purity
from northroute.world.state import N_SUBSTANCES, World

EWMA = 0.25  # assumption: weight of the latest week in dealers' smoothed sales


def ration(group: np.ndarray, want: np.ndarray, available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share `available[g]` among requests `want` of group g in proportion to what each asked.

    Returns (received per request, amount taken per group).
    """
    demand = np.bincount(group, want, available.size)
    fill = np.divide(available, demand, out=np.ones_like(demand), where=demand > 0)
    np.minimum(fill, 1.0, out=fill)
    got = want * fill[group]
    return got, np.bincount(group, got, available.size)




def wholesale_purchases(world: World) -> None:
    """Wholesalers buy lots bound for Kazakh buyers at their region's supply node."""
    p, lots, geo, wk = world.people, world.lots, world.geo, world.week
    m = world.scenario.market
    a = cutting(world)
    wh = np.flatnonzero((p.status == ACTIVE) & (p.role == WHOLESALE))
    if wh.size == 0 or len(lots) == 0:
        return
    s_wh = p.substance[wh].astype(np.int64)
    node_wh = geo.buy_node[s_wh, p.region[wh]]
    price = world.price_wholesale[p.region[wh], s_wh]
    target = (m.stock_cover_weeks + 1.0) * p.demand_ewma[wh]
    want = np.maximum(target - p.stock_g[wh], 0.0) * (1.0 - a[s_wh])
    want = np.minimum(want, np.maximum(p.cash[wh], 0.0) / price)

    node = geo.route_nodes[lots.route, lots.pos]
    offered = ~lots.export & (geo.kind[node] == "region")
    size = geo.n * N_SUBSTANCES
    key_lot = node.astype(np.int64) * N_SUBSTANCES + lots.substance
    supply = np.bincount(key_lot[offered], lots.bulk_g[offered], size)
    key_wh = node_wh.astype(np.int64) * N_SUBSTANCES + s_wh
    got, taken = ration(key_wh, want, supply)
    if taken.sum() <= 0:
        return
    share = np.divide(taken, supply, out=np.zeros(size), where=supply > 0)
    take = np.where(offered, share[key_lot], 0.0)
    pure_taken = np.bincount(key_lot, lots.pure_g * take, size)
    purity = np.divide(pure_taken, taken, out=np.zeros(size), where=taken > 0)
    paid = got * price
    revenue = np.bincount(key_wh, paid, size)
    bulk_taken = lots.bulk_g * take
    lot_rev = np.divide(revenue[key_lot] * bulk_taken, taken[key_lot], out=np.zeros(len(lots)),
                        where=taken[key_lot] > 0)
    np.add.at(p.cash, lots.owner, lot_rev)
    lots.pure_g -= lots.pure_g * take
    lots.bulk_g -= bulk_taken
    lots.selling |= take >= world.scenario.trafficking.keep_selling_share

    p.cash[wh] -= paid
    p.pure_g[wh] += got * purity[key_wh]
    p.stock_g[wh] += got / (1.0 - a[s_wh])
    world.ledger.adulterant_bulk += float((got * a[s_wh] / (1.0 - a[s_wh])).sum())
    np.add.at(wk.bought_wholesale_g, (node_wh, s_wh), got)
    lots.keep(lots.bulk_g > 1e-6)


def consign_to_retail(world: World) -> None:
    """Wholesalers hand stock to their retail dealers up to the dealers' target cover."""
    p, m = world.people, world.scenario.market
    a = cutting(world)
    rd = np.flatnonzero((p.status == ACTIVE) & (p.role == RETAIL) & (p.supplier >= 0))
    wh_all = np.flatnonzero((p.status == ACTIVE) & (p.role == WHOLESALE))
    if rd.size:
        sup = p.supplier[rd]
        rd = rd[(p.status[sup] == ACTIVE) & (p.role[sup] == WHOLESALE)]
    asked = np.zeros(p.stock_g.size)
    if rd.size:
        sup = p.supplier[rd]
        s_rd = p.substance[rd].astype(np.int64)
        target = (m.retail_cover_weeks + 1.0) * p.demand_ewma[rd] + p.need_g[rd]
        want = np.maximum(target - p.stock_g[rd], 0.0) * (1.0 - a[s_rd])
        got, _ = ration(sup, want, p.stock_g)
        pur = purity(p.stock_g[sup], p.pure_g[sup])
        p.pure_g[rd] += got * pur
        p.stock_g[rd] += got / (1.0 - a[s_rd])
        np.subtract.at(p.pure_g, sup, got * pur)
        np.subtract.at(p.stock_g, sup, got)
        world.ledger.adulterant_bulk += float((got * a[s_rd] / (1.0 - a[s_rd])).sum())
        asked = np.bincount(sup, want, p.stock_g.size)
    p.demand_ewma[wh_all] += EWMA * (asked[wh_all] - p.demand_ewma[wh_all])


def retail_sales(world: World, rng: np.random.Generator) -> None:
    """Users (alone or pooled) buy from their retail dealer; dealers take their contract pay."""
    p, m, wk = world.people, world.scenario.market, world.week
    dealers = np.flatnonzero((p.status == ACTIVE) & (p.role == RETAIL))
    users = np.flatnonzero((p.status == ACTIVE) & (p.role == USER))
    s_u = p.substance[users].astype(np.int64)
    reg_u = p.region[users].astype(np.int64)
    pooled = p.pool[users] >= 0
    price = world.price_retail[reg_u, s_u] * np.where(pooled, 1.0 - m.pool_discount, 1.0)
    want = np.minimum(p.need_g[users], np.maximum(p.cash[users], 0.0) / price)
    got = np.zeros(users.size)
    dealer_of = p.supplier[users].astype(np.int64)
    ok = dealer_of >= 0
    ok[ok] = (p.status[dealer_of[ok]] == ACTIVE) & (p.role[dealer_of[ok]] == RETAIL)
    stock = p.stock_g.copy()
    sold = np.zeros(p.stock_g.size)
    revenue = np.zeros(p.stock_g.size)

    def sell(idx: np.ndarray, dealer: np.ndarray) -> None:
        g, taken = ration(dealer, want[idx] - got[idx], stock)
        got[idx] += g
        stock[:] -= taken
        sold[:] += taken
        revenue[:] += np.bincount(dealer, g * price[idx], stock.size)

    first = np.flatnonzero(ok)
    asked = np.bincount(dealer_of[first], want[first], stock.size)
    sell(first, dealer_of[first])
    short = np.flatnonzero(got < 0.999 * want)
    if short.size and dealers.size:
        has = dealers[stock[dealers] > 0]
        key_d = p.region[has].astype(np.int64) * N_SUBSTANCES + p.substance[has]
        alt = random_member(rng, reg_u[short] * N_SUBSTANCES + s_u[short], has, key_d,
                            world.geo.n * N_SUBSTANCES)
        found = alt >= 0
        sell(short[found], alt[found])

    pur = purity(p.stock_g, p.pure_g)
    p.cash[users] -= got * price
    pure_sold = sold * pur
    p.pure_g -= pure_sold
    p.stock_g -= sold
    sup = p.supplier[dealers]
    to_wh = (sup >= 0) & (p.status[np.maximum(sup, 0)] == ACTIVE) & (p.role[np.maximum(sup, 0)] == WHOLESALE)
    np.add.at(p.cash, sup[to_wh], revenue[dealers[to_wh]])
    p.cash[dealers[~to_wh]] += revenue[dealers[~to_wh]]

    allowance = m.dealer_commission * sold[dealers] + (p.need_g[dealers] if m.dealer_daily_dose else 0.0)
    own = np.minimum(np.minimum(allowance, p.need_g[dealers]), p.stock_g[dealers])
    own_pure = own * pur[dealers]
    p.stock_g[dealers] -= own
    p.pure_g[dealers] -= own_pure
    p.demand_ewma[dealers] += EWMA * (asked[dealers] - p.demand_ewma[dealers])
    p.ever_sold[dealers[sold[dealers] > 0]] = True
    p.fill[users] = np.divide(got, p.need_g[users], out=np.ones(users.size), where=p.need_g[users] > 0)
    p.fill[dealers] = np.divide(own, p.need_g[dealers], out=np.ones(dealers.size),
                                where=p.need_g[dealers] > 0)

    led = world.ledger
    led.consumed_bulk += float(got.sum() + own.sum())
    led.consumed_pure += float(pure_sold[dealers].sum() + own_pure.sum())

    r_d, s_d = p.region[dealers], p.substance[dealers]
    np.add.at(wk.consumed_g, (reg_u, s_u), got)
    np.add.at(wk.consumed_g, (r_d, s_d), own)
    np.add.at(wk.consumed_pure, (r_d, s_d), pure_sold[dealers] + own_pure)
    np.add.at(wk.need_g, (reg_u, s_u), p.need_g[users])
    np.add.at(wk.need_g, (r_d, s_d), p.need_g[dealers])
    units = (got > 0) & (~pooled | (p.pool[users] == users))
    np.add.at(wk.buyers, (reg_u[units], s_u[units]), 1.0)
    np.add.at(wk.transactions_pooled, (reg_u[units & pooled], s_u[units & pooled]), 1.0)


def init(world: World, rng: np.random.Generator) -> None:
    """Stocks are set up with the population."""


def step(world: World, rng: np.random.Generator) -> None:
    wholesale_purchases(world)
    consign_to_retail(world)
    retail_sales(world, rng)
