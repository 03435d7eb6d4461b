"""Compiled kernels for the two passes over every user each week.

Why numba here: buying and the weekly user update touch every user row. As numpy array
expressions they take ~40 full passes over the user table (gathers, temporaries, scatters); a
fused loop does the same arithmetic in two or three passes, which is what lets a national run
(~340,000 rows) meet the 5 million agent-steps per second target. The loops are sequential and
draw no random numbers, so results are identical on every machine; the rules themselves are
documented where the kernels are called (`trade.retail_sales`, `users.step`).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def retail_demand(users, market, supplier, pool, need, cash, price_table, pool_discount, slot, nd):
    """Price, wanted grams and dealer slot of each user; grams asked of each dealer slot.

    Users without a valid dealer are given the stand-in slot `nd` (a dealer with no stock).
    """
    n = users.size
    price = np.empty(n)
    want = np.empty(n)
    mine = np.empty(n, np.int64)
    asked = np.zeros(nd + 1)
    for i in range(n):
        r = users[i]
        pr = price_table[market[r]]
        if pool[r] >= 0:
            pr *= 1.0 - pool_discount
        price[i] = pr
        c = cash[r]
        w = need[r]
        if c <= 0.0:
            w = 0.0
        elif c / pr < w:
            w = c / pr
        want[i] = w
        s = slot[supplier[r]] if supplier[r] >= 0 else -1
        if s < 0:
            s = nd
        mine[i] = s
        asked[s] += w
    return price, want, mine, asked


@njit(cache=True)
def retail_fill(want, mine, price, stock, demand, got, sold, revenue):
    """Share each dealer's stock among its buyers in proportion to what they still want.

    `demand` is what each dealer's buyers still want in all. Adds to `got`, `sold` and `revenue`,
    takes the grams out of `stock`, and returns the buyers who still got less than they wanted.
    """
    fill = np.ones(stock.size)
    for d in range(stock.size):
        if demand[d] > stock[d] and demand[d] > 0.0:
            fill[d] = max(stock[d], 0.0) / demand[d]
    taken = np.zeros(stock.size)
    short = np.empty(want.size, np.int64)
    n_short = 0
    for i in range(want.size):
        d = mine[i]
        g = (want[i] - got[i]) * fill[d]
        if g > 0.0:
            got[i] += g
            taken[d] += g
            revenue[d] += g * price[i]
        if got[i] < 0.999 * want[i]:
            short[n_short] = i
            n_short += 1
    for d in range(stock.size):
        stock[d] -= taken[d]
        sold[d] += taken[d]
    return short[:n_short]


@njit(cache=True)
def retail_settle(users, market, pool, need, cash, fill, got, price, mine, consumed, need_by_key,
                  buyers, pooled_buys, buyers_per_dealer):
    """Users pay, record how much of their need was met, and add to the market and dealer totals.

    A buying pool counts as one buyer, of its market and of its dealer (M3, M35)."""
    for i in range(users.size):
        r = users[i]
        k = market[r]
        cash[r] -= got[i] * price[i]
        fill[r] = got[i] / need[r] if need[r] > 0 else 1.0
        consumed[k] += got[i]
        need_by_key[k] += need[r]
        if got[i] > 0 and (pool[r] < 0 or pool[r] == r):
            buyers[k] += 1.0
            buyers_per_dealer[mine[i]] += 1.0
            if pool[r] >= 0:
                pooled_buys[k] += 1.0


@njit(cache=True)
def user_week(users, market, income, cash, fill, addiction, cash_cap_weeks, drift, base_hazard, draws):
    """Income, addiction drift and the quit decision of each user.

    Returns who quits and how many users of each market stay.
    """
    quit = np.zeros(users.size, np.bool_)
    staying = np.zeros(base_hazard.size)
    for i in range(users.size):
        r = users[i]
        c = cash[r] + income[r]
        cap = cash_cap_weeks * income[r]
        cash[r] = c if c < cap else cap
        f = fill[r] if fill[r] < 1.0 else 1.0
        a = addiction[r] + drift * (f - addiction[r])
        addiction[r] = a
        quit[i] = draws[i] < base_hazard[market[r]] * (1.5 - a)
        if not quit[i]:
            staying[market[r]] += 1.0
    return quit, staying


@njit(cache=True)
def target_weights(rows, region, role, exposure, pool, supplier, protector, n_regions, quota, level_value,
                   provable, pool_visibility, shield, runner_boost):
    """Policing weights of candidates, grouped by region (counting sort) with cumulative sums.

    A candidate's weight is visibility^quota x level_value^(level x (1 - quota)) x provability; a
    protected wholesaler and his retail team are shielded, the customers of a protected team given up
    (`policing.weigh_targets` documents the rules). Returns rows and cumulative weights in region
    order, each region's first position, count and summed weight.
    """
    n = rows.size
    count = np.zeros(n_regions, np.int64)
    for i in range(n):
        count[region[rows[i]]] += 1
    first = np.zeros(n_regions, np.int64)
    for g in range(1, n_regions):
        first[g] = first[g - 1] + count[g - 1]
    pos = first.copy()
    out = np.empty(n, np.int32)  # person rows fit in int32; halves the month's candidate list
    weight = np.empty(n)
    total = np.zeros(n_regions)
    for i in range(n):
        r = rows[i]
        lv = role[r]
        vis = 1.0 + exposure[r]
        if pool[r] == r:
            vis *= pool_visibility
        w = provable[lv]
        if quota == 1.0:
            w *= vis
        else:
            w *= vis ** quota * level_value ** (lv * (1.0 - quota))
        s = supplier[r]
        if lv == 2:
            if protector[r] >= 0:
                w *= shield
        elif lv == 1:
            if s >= 0 and protector[s] >= 0:
                w *= shield
        elif lv == 0 and s >= 0 and role[s] == 1:
            boss = supplier[s]
            if boss >= 0 and protector[boss] >= 0:
                w *= runner_boost
        g = region[r]
        out[pos[g]] = r
        weight[pos[g]] = w
        total[g] += w
        pos[g] += 1
    return out, np.cumsum(weight), first, count, total
