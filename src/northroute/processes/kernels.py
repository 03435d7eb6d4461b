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

from northroute.world.people import ACTIVE, RETAIL, WHOLESALE


@njit(cache=True)
def retail_demand(users, market, supplier, pool, need, cash, price_table, pool_discount, slot, nd, role, status,
                  user_role, active):
    """Price, wanted grams and dealer slot of each user; grams asked of each dealer slot.

    Users without a valid dealer are given the stand-in slot `nd` (a dealer with no stock). A pool member
    whose buyer has quit, been arrested or started dealing since the pools formed buys alone (pool reset).
    """
    n = users.size
    price = np.empty(n)
    want = np.empty(n)
    mine = np.empty(n, np.int64)
    asked = np.zeros(nd + 1)
    for i in range(n):
        r = users[i]
        b = pool[r]
        if b >= 0 and (role[b] != user_role or status[b] != active):
            pool[r] = -1
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
def consign(dealers, supplier, wh, wh_slot, substance, demand_ewma, need, stock_g, pure_g, cut, cover_weeks, ewma,
            extra):
    """Wholesalers hand stock to their retail dealers, rationed in proportion to what each asked.

    `extra` (in dealer order) is what a leader orders on top of his own target for his runners. The
    rules are in the docstring of `trade`. Returns the adulterant grams added with each hand-over,
    in dealer order.
    """
    n_wh = wh.size
    sup = np.empty(dealers.size, np.int64)
    want = np.empty(dealers.size)
    asked = np.zeros(n_wh)
    cover = np.float32(cover_weeks + 1.0)  # the smoothed demand and the need are float32 columns
    for i in range(dealers.size):
        r = dealers[i]
        s = wh_slot[supplier[r]] if supplier[r] >= 0 else -1
        sup[i] = s
        if s < 0:
            continue
        target = cover * demand_ewma[r] + need[r] + extra[i]
        want[i] = max(target - stock_g[r], 0.0) * (1.0 - cut[substance[r]])
        asked[s] += want[i]
    fill = np.ones(n_wh)
    pur = np.zeros(n_wh)
    for j in range(n_wh):
        st = stock_g[wh[j]]
        if asked[j] > st and asked[j] > 0:
            fill[j] = max(st, 0.0) / asked[j]
        if st > 1e-6:
            pur[j] = min(max(pure_g[wh[j]] / st, 0.0), 1.0)
    taken = np.zeros(n_wh)
    added = np.empty(dealers.size)
    n = 0
    for i in range(dealers.size):
        s = sup[i]
        if s < 0:
            continue
        r = dealers[i]
        a = cut[substance[r]]
        got = want[i] * fill[s]
        taken[s] += got
        pure_g[r] += got * pur[s]
        stock_g[r] += got / (1.0 - a)
        added[n] = got * a / (1.0 - a)
        n += 1
    for j in range(n_wh):
        pure_g[wh[j]] -= taken[j] * pur[j]
        stock_g[wh[j]] -= taken[j]
        demand_ewma[wh[j]] += ewma * (asked[j] - demand_ewma[wh[j]])
    return added[:n]


@njit(cache=True)
def runner_links(dealers, supplier, status, role, flags, leader_bit, slot):
    """Positions in `dealers` of the runners, those supplied by an active leader, and of their
    leaders (`slot` maps a dealer's row to his position)."""
    runner = np.empty(dealers.size, np.int64)
    lead = np.empty(dealers.size, np.int64)
    n = 0
    for i in range(dealers.size):
        s = supplier[dealers[i]]
        if s >= 0 and status[s] == ACTIVE and role[s] == RETAIL and (flags[s] & leader_bit) != 0:
            runner[n] = i
            lead[n] = slot[s]
            n += 1
    return runner[:n], lead[:n]


@njit(cache=True)
def pass_on(dealers, runner, lead, want, asked, demand_ewma, need, stock_g, pure_g, cover_weeks):
    """Leaders hand their runners what they asked (positions in `dealers`); a short leader shares his
    stock between his runners' wants (`asked`, by dealer position) and his own target in proportion.
    The rules are in the docstring of `trade`."""
    nd = dealers.size
    fill = np.ones(nd)
    pur = np.zeros(nd)
    cover = np.float32(cover_weeks)  # the smoothed demand and the need are float32 columns
    for j in range(nd):
        if asked[j] <= 0.0:  # not a leader, or his runners want nothing
            continue
        r = dealers[j]
        st = stock_g[r]
        total = asked[j] + (cover * demand_ewma[r] + need[r])
        if total > st:
            fill[j] = max(st, 0.0) / total
        if st > 1e-6:
            pur[j] = min(max(pure_g[r] / st, 0.0), 1.0)
    taken = np.zeros(nd)
    for i in range(runner.size):
        j = lead[i]
        r = dealers[runner[i]]
        got = want[i] * fill[j]
        taken[j] += got
        stock_g[r] += got
        pure_g[r] += got * pur[j]
    for j in range(nd):
        if taken[j] > 0.0:
            stock_g[dealers[j]] -= taken[j]
            pure_g[dealers[j]] -= taken[j] * pur[j]


@njit(cache=True)
def retail_dealers(dealers, supplier, status, role, flags, substance, market, need, stock_g, pure_g, cash, demand_ewma,
                   fill, ever_sold, exposure, sold, revenue, asked, counterparts, wh_slot, n_wh, commission_rate,
                   daily_dose, vory_bit, vory_fee, ewma, alpha, n_keys, leader_bit):
    """Each retail dealer's week after the users bought: own use, contract pay, cash to the wholesaler
    (a runner's cash goes through his leader, who keeps his commission).

    The rules are in the docstring of `trade`. Returns the grams the dealers used themselves and the
    pure grams they sold or used (totals), per-market totals of grams used, pure grams consumed and need,
    hand-over sums by substance, each wholesaler's takings (by `wh_slot`) and the Vory's fees.
    """
    own_total = 0.0
    pure_total = 0.0
    used_by_key = np.zeros(n_keys)
    pure_by_key = np.zeros(n_keys)
    need_by_key = np.zeros(n_keys)
    handed = np.zeros((2, 3))
    to_wholesaler = np.zeros(n_wh)
    fees = np.zeros(3)
    for i in range(dealers.size):
        r = dealers[i]
        s = sold[i]
        st = stock_g[r]
        pur = pure_g[r] / st if st > 1e-6 else 0.0
        pur = min(max(pur, 0.0), 1.0)
        commission = commission_rate * s
        left = max(st - s, 0.0)
        need_r = need[r]
        o = min(need_r if daily_dose else min(need_r, commission), left)
        pure = (s + o) * pur
        own_total += o
        pure_total += pure
        stock_g[r] -= s + o
        pure_g[r] -= pure
        kept = max(commission - (0.0 if daily_dose else o), 0.0)
        share = kept / s if s > 0 else 0.0
        sup = supplier[r]
        led = sup >= 0 and status[sup] == ACTIVE and role[sup] == RETAIL and (flags[sup] & leader_bit) != 0
        boss = supplier[sup] if led else sup
        paid = boss >= 0 and status[boss] == ACTIVE and role[boss] == WHOLESALE
        if not (led or paid):
            share = 1.0  # no supplier to pay: he keeps the takings
        passed = revenue[i] * (1.0 - share)
        if led:  # trafficker -> wholesaler -> leader -> runner -> user; the leader keeps his commission
            cash[sup] += passed * commission_rate
            passed -= passed * commission_rate
        if paid:
            fee = vory_fee if (flags[boss] & vory_bit) != 0 else 0.0
            to_wholesaler[wh_slot[boss]] += passed * (1.0 - fee)
            fees[substance[boss]] += passed * fee
        elif led:  # the leader's wholesaler is gone: he keeps the rest too
            cash[sup] += passed
        steps = 4.0 if led else 3.0  # trafficker -> wholesaler -> dealer -> user, or through a leader
        cash[r] += revenue[i] * share
        demand_ewma[r] += ewma * (asked[i] - demand_ewma[r])
        if s > 0:
            ever_sold[r] = True
        fill[r] = o / need_r if need_r > 0 else 1.0
        exposure[r] += alpha * (counterparts[i] - exposure[r])
        k = market[r]
        used_by_key[k] += o
        pure_by_key[k] += pure
        need_by_key[k] += need_r
        handed[0, substance[r]] += steps * s + (steps - 1.0) * o
        handed[1, substance[r]] += s + o
    return own_total, pure_total, used_by_key, pure_by_key, need_by_key, handed, to_wholesaler, fees


@njit(cache=True)
def user_week(users, market, income, cash, fill, addiction, cash_cap_weeks, drift, base_hazard, draws):
    """Income, addiction drift and the quit decision of each user.

    Returns who quits and, for each market, the sum of the quit factor (1.5 - addiction) over the users
    who stay: times a yearly rate / 52.18, the users who would quit next week at reference prices.
    """
    quit = np.zeros(users.size, np.bool_)
    quit_weight = np.zeros(base_hazard.size)
    for i in range(users.size):
        r = users[i]
        c = cash[r] + income[r]
        cap = cash_cap_weeks * income[r]
        cash[r] = c if c < cap else cap
        f = fill[r] if fill[r] < 1.0 else 1.0
        a = addiction[r] + drift * (f - addiction[r])
        addiction[r] = a
        # assumption: quit hazard x (1.5 - addiction), from 1.5 (none) to 0.5 (full), 1 at addiction 0.5
        quit[i] = draws[i] < base_hazard[market[r]] * (1.5 - a)
        if not quit[i]:
            quit_weight[market[r]] += 1.5 - a
    return quit, quit_weight


@njit(cache=True)
def target_weights(rows, region, role, status, exposure, pool, supplier, protector, n_regions, quota, level_value,
                   provable, case_chance, pool_visibility, shield, team_shield, runner_boost):
    """Policing weights of candidates, grouped by region (counting sort) with cumulative sums.

    A candidate's weight is visibility^quota x level_value^(level x (1 - quota)) x provability x the chance his
    arrest makes a criminal case (`case_chance`, aligned with `rows`); a
    protected wholesaler is shielded (`shield`) and so is his retail team (`team_shield`, which is above 1 when
    he gives them up), the customers of a protected team given up
    (`policing.weigh_targets` documents the rules); a leader's runners share his wholesaler's
    protection; the leader and the wholesaler must be active, and the wholesaler a wholesaler still (as `People.boss`
    reads it: a jailed leader's runners, and the team of a wholesaler who left, are orphans until they are placed
    again, 7.5). Returns rows and cumulative weights in region
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
        w = provable[lv] * case_chance[i]
        if quota == 1.0:
            w *= vis
        else:
            w *= vis ** quota * level_value ** (lv * (1.0 - quota))
        s = supplier[r]
        if lv == 2:
            if protector[r] >= 0:
                w *= shield
        elif lv == 1:
            if s >= 0 and role[s] == RETAIL:  # a runner: the wholesaler is his leader's supplier
                s = supplier[s] if status[s] == ACTIVE else -1
            if s >= 0 and status[s] == ACTIVE and role[s] == WHOLESALE and protector[s] >= 0:
                w *= team_shield
        elif lv == 0 and s >= 0 and role[s] == RETAIL and status[s] == ACTIVE:
            boss = supplier[s]
            if boss >= 0 and role[boss] == RETAIL:
                boss = supplier[boss] if status[boss] == ACTIVE else -1
            if boss >= 0 and status[boss] == ACTIVE and role[boss] == WHOLESALE and protector[boss] >= 0:
                w *= runner_boost
        g = region[r]
        out[pos[g]] = r
        weight[pos[g]] = w
        total[g] += w
        pos[g] += 1
    return out, np.cumsum(weight), first, count, total
