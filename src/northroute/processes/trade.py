"""Trade: traffickers sell to wholesalers, wholesalers supply retail dealers (some through a
mid-level leader), dealers sell to users.

- Buy first, then look for buyers (M1, thesis L1004-1006 [P13]): lots bound for Kazakh buyers are
  offered to the wholesalers of each region they pass; whatever nobody takes travels on.
- A wholesaler supplies a small team of retail dealers on the thesis's contract (M27, L964 [DE11]):
  the dealer hands over the cash, gets a daily dose and 1 g for every 10 g sold "to use or sell as
  they wish": the model has the dealer sell those grams on his own account (he keeps a tenth of the
  takings) and use the daily dose, or, without the daily dose, use his tenth first.
- A mid-level "leader" (L1962 [P22]; `careers`) orders his runners' wants on top of his own from his
  wholesaler and passes them on; his stock is shared between his runners' orders and his own target in
  proportion. A runner's takings go to the leader, who keeps `market.dealer_commission` of them (the
  1-in-10 contract one level up, assumption) and passes the rest to the wholesaler.
- Each hand-over from trafficker to wholesaler and from wholesaler to the retail level is cut
  (`market.adulteration`), so purity falls down the chain (thesis L1406 [DE9]; UNODC via
  external-facts §4); a leader passes on what he got uncut (assumption), so the street gram is cut
  twice on either path and one retail price serves both.
- Users buy from their own dealer, in pools for a discount (M35, L1084 [P11]); when their dealer is
  short they try one other dealer they can reach in their region.
Scarce stock is shared out in proportion to what each buyer asked for (`ration`), a vectorised rule
with no ordering of agents.
"""

from __future__ import annotations

import numpy as np

from northroute.processes import kernels, relations
from northroute.processes.matching import random_member
from northroute.processes.prices import cutting
from northroute.world.arrays import scatter_add
from northroute.world.people import ACTIVE, COMMUNITY, LEADER, RETAIL, TRAFFICKER, USER, VORY, WHOLESALE
from northroute.world.state import N_SUBSTANCES, World

EWMA = 0.25  # assumption: weight of the latest week in dealers' smoothed sales
STOCK_LEFT_G = 1e-9  # a dealer whose stock was shared out keeps a rounding residue, not stock to sell


def ration(group: np.ndarray, want: np.ndarray, available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share `available[g]` among requests `want` of group g in proportion to what each asked.

    Returns (received per request, amount taken per group).
    """
    demand = np.bincount(group, want, available.size)
    fill = np.ones_like(demand)
    short = (demand > available) & (demand > 0)
    fill[short] = np.maximum(available[short], 0.0) / demand[short]
    got = want * fill[group]
    return got, np.bincount(group, got, available.size)




def wholesale_purchases(world: World, rng: np.random.Generator) -> None:
    """Wholesalers buy lots bound for Kazakh buyers at their region's supply node.

    Kin of the community buy on credit (M24, L1169 [P20]); a wholesaler with neither a voucher nor a
    verified reputation is kept to small purchases, since sellers withhold larger deals (M15, M19).
    A kin wholesaler left short at home buys the rest where a kin he reaches lives (`kin_purchases`).
    Each buyer's main seller this week becomes (or renews) a trade tie.
    """
    p = world.people
    m = world.scenario.market
    a = cutting(world)
    wh = p.rows(WHOLESALE)
    if wh.size == 0 or len(world.lots) == 0:
        return
    s_wh = p.substance[wh].astype(np.int64)
    price = world.price_wholesale[p.region[wh], s_wh]
    target = (m.stock_cover_weeks + 1.0) * p.demand_ewma[wh]  # assumption: +1 week for the coming week's sales
    want = np.maximum(target - p.stock_g[wh], 0.0) * (1.0 - a[s_wh])
    credit = (p.flags[wh] & COMMUNITY) != 0
    want = np.where(credit, want, np.minimum(want, np.maximum(p.cash[wh], 0.0) / price))
    want = np.where(relations.verified(world, wh), want,
                    np.minimum(want, world.scenario.relations.voucher_threshold_g))
    got = buy_lots(world, rng, wh, p.region[wh], want)
    kin_purchases(world, rng, wh, want - got)


def kin_purchases(world: World, rng: np.random.Generator, wh: np.ndarray, short: np.ndarray) -> None:
    """Kin wholesalers still short after buying at home buy the rest at the supply node of the region
    where a kin of a group they reach lives, at that region's price: kin "commute between different
    gypsy kins, and therefore know who sells where and can gain access to bigger weight" (L884 [DE11];
    M20; Tajik traffickers were connected to Roma wholesale dealers, L1070 [P6]). On when
    `relations.kin_buying`."""
    p, geo = world.people, world.geo
    if not world.scenario.relations.kin_buying or len(world.lots) == 0:
        return
    ask = np.flatnonzero((p.kin[wh] >= 0) & (short > 1e-9))
    contact = relations.kin_contact(world, wh[ask], rng)
    s = p.substance[wh[ask]]
    region = np.where(contact >= 0, p.region[np.maximum(contact, 0)], p.region[wh[ask]])
    away = geo.buy_node[s, region] != geo.buy_node[s, p.region[wh[ask]]]
    buy_lots(world, rng, wh[ask[away]], region[away], short[ask[away]])


def buy_lots(world: World, rng: np.random.Generator, wh: np.ndarray, region: np.ndarray,
             want: np.ndarray) -> np.ndarray:
    """Wholesalers `wh` (distinct) buy up to `want` lot grams at the supply node and price of `region`,
    sharing scarce lots in proportion (`ration`); returns the grams each got."""
    p, lots, geo, wk = world.people, world.lots, world.geo, world.week
    a = cutting(world)
    got = np.zeros(wh.size)
    if wh.size == 0 or len(lots) == 0:
        return got
    s_wh = p.substance[wh].astype(np.int64)
    node_wh = geo.buy_node[s_wh, region]
    price = world.price_wholesale[region, s_wh]
    node = geo.route_nodes[lots.route, lots.pos]
    offered = ~lots.export & geo.is_region[node]
    size = geo.n * N_SUBSTANCES
    key_lot = node.astype(np.int64) * N_SUBSTANCES + lots.substance
    supply = np.bincount(key_lot[offered], lots.bulk_g[offered], size)
    key_wh = node_wh.astype(np.int64) * N_SUBSTANCES + s_wh
    got, taken = ration(key_wh, want, supply)
    if taken.sum() <= 0:
        return got
    share = np.divide(taken, supply, out=np.zeros(size), where=supply > 0)
    take = np.where(offered, share[key_lot], 0.0)
    pure_taken = np.bincount(key_lot, lots.pure_g * take, size)
    purity = np.divide(pure_taken, taken, out=np.zeros(size), where=taken > 0)
    paid = got * price
    revenue = np.bincount(key_wh, paid, size)
    bulk_taken = lots.bulk_g * take
    lot_rev = np.divide(revenue[key_lot] * bulk_taken, taken[key_lot], out=np.zeros(len(lots)),
                        where=taken[key_lot] > 0)
    scatter_add(p.cash, lots.owner, lot_rev * (1.0 - vory_fee(world, lots.owner)))
    world.week.vory_fees += np.bincount(lots.substance, lot_rev * vory_fee(world, lots.owner), N_SUBSTANCES)
    buyers = np.flatnonzero(got > 0)
    selling = np.flatnonzero(take > 0)
    seller = random_member(rng, key_wh[buyers], selling, key_lot[selling], size)
    trades = (lots.owner[seller[seller >= 0]], wh[buyers[seller >= 0]])
    wk.trades = trades if wk.trades is None else tuple(np.concatenate(pair) for pair in zip(wk.trades, trades,
                                                                                             strict=True))
    world.trade_log.append(trades)
    lots.pure_g -= lots.pure_g * take
    lots.bulk_g -= bulk_taken
    lots.selling |= take >= world.scenario.trafficking.keep_selling_share

    p.cash[wh] -= paid
    p.pure_g[wh] += got * purity[key_wh]
    p.stock_g[wh] += got / (1.0 - a[s_wh])
    world.ledger.adulterant_bulk += float((got * a[s_wh] / (1.0 - a[s_wh])).sum())
    scatter_add(wk.bought_wholesale_g, (node_wh, s_wh), got)
    lots.keep(lots.bulk_g > 1e-6)
    return got


def vory_fee(world: World, rows: np.ndarray) -> np.ndarray:
    """Share of takings a seller pays the Vory: their fee for clients, nothing for others (M64, L854 [DE7])."""
    return np.where((world.people.flags[rows] & VORY) != 0, world.scenario.relations.vory_fee, 0.0)


def consign_to_retail(world: World) -> None:
    """Wholesalers hand stock to their direct retail dealers up to the dealers' target cover; leaders
    order for their runners too and pass those grams on."""
    p, m = world.people, world.scenario.market
    rd, wh = p.rows(RETAIL), p.rows(WHOLESALE)
    with p.slots(rd) as slot:
        runner, lead = kernels.runner_links(rd, p.supplier, p.status, p.role, p.flags, LEADER, slot)
    cover = m.retail_cover_weeks + 1.0  # assumption: +1 week for the coming week's sales
    r = rd[runner]
    want = np.maximum(cover * p.demand_ewma[r] + p.need_g[r] - p.stock_g[r], 0.0)
    extra = np.bincount(lead, want, rd.size)
    with p.slots(wh) as slot:
        added = kernels.consign(rd, p.supplier, wh, slot, p.substance, p.demand_ewma, p.need_g,
                                p.stock_g, p.pure_g, cutting(world), m.retail_cover_weeks, EWMA, extra)
    world.ledger.adulterant_bulk += float(added.sum())
    if runner.size:
        kernels.pass_on(rd, runner, lead, want, extra, p.demand_ewma, p.need_g, p.stock_g, p.pure_g, cover)


def retail_sales(world: World, rng: np.random.Generator) -> None:
    """Users (alone or pooled) buy from their retail dealer; dealers take their contract pay.

    Dealer-side arrays are indexed by dealer slot (0..dealers-1), not by person row, so the cost of
    a week grows with the number of buyers and dealers, not with the size of the people table.
    """
    p, m, wk = world.people, world.scenario.market, world.week
    n_keys = world.geo.n * N_SUBSTANCES
    dealers, users = p.rows(RETAIL), p.rows(USER)
    nd = dealers.size
    with p.slots(dealers) as slot:
        lead = kernels.runner_links(dealers, p.supplier, p.status, p.role, p.flags, LEADER, slot)[1]
        price, want, mine, asked = kernels.retail_demand(
            users, p.market, p.supplier, p.pool, p.need_g, p.cash, world.price_retail.ravel(),
            m.pool_discount, slot, nd, p.role, p.status, USER, ACTIVE)
    stock = np.append(p.stock_g[dealers], 0.0)
    got, sold, revenue = np.zeros(users.size), np.zeros(nd + 1), np.zeros(nd + 1)
    short = kernels.retail_fill(want, mine, price, stock, asked, got, sold, revenue)
    counterparts = np.ones(nd + 1)  # his supplier; retail_settle adds his buyers
    counterparts[:nd] += np.bincount(lead, minlength=nd)  # a leader's runners
    if short.size and nd:
        has = np.flatnonzero(stock[:nd] > STOCK_LEFT_G)
        key_d = p.market[dealers]
        alt = random_member(rng, p.market[users[short]], has, key_d[has], n_keys)
        idx, seller = short[alt >= 0], alt[alt >= 0]
        got_alt = got[idx]
        before = got_alt.copy()
        still = np.bincount(seller, want[idx] - got_alt, nd + 1)
        kernels.retail_fill(want[idx], seller, price[idx], stock, still, got_alt, sold, revenue)
        got[idx] = got_alt
        who = users[idx]
        pool = p.pool[who]
        buyer = (got_alt > before) & ((pool < 0) | (pool == who))
        counterparts += np.bincount(seller[buyer], minlength=nd + 1)  # the second dealer knows him too
        mine[idx[buyer & (before == 0)]] = nd  # from here `mine` is whom he counts for: not his own dealer
    flat = lambda a: a.reshape(-1)  # noqa: E731
    kernels.retail_settle(users, p.market, p.pool, p.need_g, p.cash, p.fill, got, price, mine,
                          flat(wk.consumed_g), flat(wk.need_g), flat(wk.buyers), flat(wk.transactions_pooled),
                          counterparts)
    wh = p.rows(WHOLESALE)
    with p.slots(wh) as wh_slot:
        own, pure, used, pure_used, need_d, handed, to_wh, fees = kernels.retail_dealers(
            dealers, p.supplier, p.status, p.role, p.flags, p.substance, p.market, p.need_g, p.stock_g, p.pure_g,
            p.cash, p.demand_ewma, p.fill, p.ever_sold, p.exposure, sold, revenue, asked, counterparts, wh_slot,
            wh.size, m.dealer_commission, m.dealer_daily_dose, VORY, world.scenario.relations.vory_fee, EWMA,
            1.0 / world.scenario.relations.exposure_weeks, n_keys, LEADER)
    p.cash[wh] += to_wh
    wk.vory_fees += fees
    world.ledger.consumed_bulk += float(got.sum()) + own
    world.ledger.consumed_pure += pure
    wk.consumed_g += used.reshape(wk.consumed_g.shape)
    wk.consumed_pure += pure_used.reshape(wk.consumed_g.shape)
    wk.need_g += need_d.reshape(wk.consumed_g.shape)
    wk.handovers += handed  # three hand-overs for each gram sold, four through a leader


def _expose(world: World, rows: np.ndarray, counterparts: np.ndarray) -> None:
    """Smoothed count of distinct counterparties a week: who knows about him (M3, "25 tomatoes")."""
    p = world.people
    alpha = 1.0 / world.scenario.relations.exposure_weeks
    p.exposure[rows] += alpha * (counterparts - p.exposure[rows])


def expose_upper_tiers(world: World) -> None:
    """Wholesalers know their team and this week's seller; traffickers know this week's buyers."""
    p = world.people
    wh, tr, rd = p.rows(WHOLESALE), p.rows(TRAFFICKER), p.rows(RETAIL)
    sellers, buyers = world.week.trades if world.week.trades is not None else (np.zeros(0, int),) * 2
    with p.slots(wh) as slot:
        team = np.bincount(slot[p.supplier[rd][p.supplier[rd] >= 0]] + 1, minlength=wh.size + 1)[1:]
        bought = np.bincount(slot[buyers] + 1, minlength=wh.size + 1)[1:]
    with p.slots(tr) as slot:
        sold_to = np.bincount(slot[sellers] + 1, minlength=tr.size + 1)[1:]
    _expose(world, wh, team + bought)
    _expose(world, tr, 1.0 + sold_to)


def init(world: World, rng: np.random.Generator) -> None:
    """Stocks are set up with the population."""


def step(world: World, rng: np.random.Generator) -> None:
    wholesale_purchases(world, rng)
    consign_to_retail(world)
    retail_sales(world, rng)
    expose_upper_tiers(world)
