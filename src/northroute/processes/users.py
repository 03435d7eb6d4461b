"""Users: where they live, what they use, what they can pay, starting, stopping and buying pools.

- Heroin use is heavier in the north (thesis L1404 [DE11]) and cannabis in the south, where it is
  seen as medicine (L1353-1357 [P11][P10]); regional counts follow population times those weights.
- Users buy what they want up to what their income allows; those who cannot finance their habit
  (`cannot_finance`) look for dealing work and are the ones wholesalers prefer as recruits (M31,
  L690 [P32]; see `careers`).
- Higher retail prices raise quitting (L1406 [DE9], L746); starting replaces the users who would quit
  under reference (2012) conditions, so prevalence moves with prices and supply (and with arrests, which
  take users out for their terms).
- Some heroin users pool money for a cheaper, bigger portion (M35, L976 [DE1][DE2], L1084 [P11]):
  members pay the pool price and share the buyer's dealer; the dealer sees the pool as one buyer.
"""

from __future__ import annotations

import numpy as np

from northroute.processes import kernels, prices, relations
from northroute.processes.matching import random_member, rank_in_group
from northroute.world.arrays import scatter_add, stable_order
from northroute.world.people import ACTIVE, HASHISH, HEROIN, MARIJUANA, OUT, RETAIL, USER
from northroute.world.state import N_SUBSTANCES, WEEKS_PER_YEAR, World

POOL_REFRESH_WEEKS = 4  # assumption: pools re-form about monthly
ADDICTION_DRIFT = 0.02  # assumption: weekly pull of addiction toward the share of need met
CASH_CAP_WEEKS = 4.0  # assumption: users hold at most a month of income


def daily_dose(world: World) -> np.ndarray:
    """A user's daily need of his drug, by drug (g/day)."""
    u = world.scenario.users
    return np.array([u.heroin_g_per_day, u.marijuana_g_per_day, u.hashish_g_per_day])


def regional_counts(world: World, rng: np.random.Generator) -> np.ndarray:
    """[places, substances] users at the start, by population and zone weights."""
    geo, pop = world.geo, world.scenario.population
    regions = geo.regions
    w = geo.population[regions]
    north = np.isin(geo.zone[regions], ("north", "central"))
    south = geo.zone[regions] == "south"
    w_her = w * np.where(north, pop.heroin_zone_weight_north, 1.0)
    w_can = w * np.where(south, pop.cannabis_zone_weight_south, 1.0)
    out = np.zeros((geo.n, N_SUBSTANCES), np.int64)
    scale = world.scale
    out[regions, HEROIN] = rng.multinomial(round(pop.heroin_users * scale), w_her / w_her.sum())
    cannabis = rng.multinomial(round(pop.cannabis_users * scale), w_can / w_can.sum())
    out[regions, HASHISH] = rng.binomial(cannabis, pop.hashish_share)
    out[regions, MARIJUANA] = cannabis - out[regions, HASHISH]
    return out


def add_users(world: World, rng: np.random.Generator, region: np.ndarray, substance: np.ndarray) -> np.ndarray:
    """Append new users with drawn addiction, income and need; returns their rows."""
    n = region.size
    u = world.scenario.users
    heroin = substance == HEROIN
    # assumption: addiction at entry Beta(4, 2) for heroin (mean 0.67), Beta(2, 4) for cannabis (mean 0.33)
    addiction = np.where(heroin, rng.beta(4.0, 2.0, n), rng.beta(2.0, 4.0, n))
    income = u.weekly_income * np.exp(u.income_spread * rng.standard_normal(n))
    # assumption: individual need spread around the daily dose with log-sd 0.3
    need = daily_dose(world)[substance] * 7.0 * np.exp(0.3 * rng.standard_normal(n))
    return world.people.append(n, role=USER, status=ACTIVE, substance=substance, region=region,
                               since=world.t, entered=world.t, addiction=addiction, income=income,
                               need_g=need, cash=income, exposure=1.0)  # a user knows his dealer (7.8 item 7)


def init(world: World, rng: np.random.Generator) -> None:
    counts = regional_counts(world, rng)
    place, subst = np.nonzero(counts)
    n = counts[place, subst]
    rows = add_users(world, rng, np.repeat(place, n).astype(np.int16), np.repeat(subst, n).astype(np.int8))
    # assumption: users of the start have used for a while, their years of use drawn as in a steady population
    # (exponential, mean 1 / quit rate), their addiction drifted that long toward full supply (rule 2)
    u, p = world.scenario.users, world.people
    with np.errstate(divide="ignore"):  # a quit rate of 0: lifelong use, so the drift is complete (years = inf)
        years = rng.exponential(1.0 / np.where(p.substance[rows] == HEROIN, u.heroin_quit_rate, u.cannabis_quit_rate))
    p.addiction[rows] = 1.0 - (1.0 - p.addiction[rows]) * (1.0 - ADDICTION_DRIFT) ** (years * WEEKS_PER_YEAR)
    world.start_ref_sum = np.zeros((2, world.geo.n * N_SUBSTANCES))


def cannot_finance(world: World, rows: np.ndarray) -> np.ndarray:
    """Mask of the users whose legal income does not cover a week of their habit at their market's
    retail price (the pool price for pool members): the users who "start dealing in drugs in order to
    sponsor [their] addiction" (M31, L690 [P32]). Cash saved in easier weeks does not count: it lasts
    at most `CASH_CAP_WEEKS` weeks of income, while the habit is every week."""
    p, m = world.people, world.scenario.market
    price = world.price_retail.ravel()[p.market[rows]] * np.where(p.pool[rows] >= 0, 1.0 - m.pool_discount, 1.0)
    return p.income[rows] < p.need_g[rows] * price


def reassign_dealers(world: World, rng: np.random.Generator) -> None:
    """Users whose dealer left find another retail dealer of their drug in their region."""
    p = world.people
    lost = p.orphans(p.rows(USER), RETAIL)
    if lost.size == 0:
        return
    dealers = p.rows(RETAIL)
    p.supplier[lost] = random_member(rng, p.market[lost], dealers, p.market[dealers], world.geo.n * N_SUBSTANCES)


def form_pools(world: World, rng: np.random.Generator) -> None:
    """Re-form buying pools among heroin users of the same region; members take the buyer's dealer.
    Every user's exposure is reset to his one dealer, a pool's buyer's to the pool (M35), so a dealer
    gone back to use sheds his dealing contacts within a month."""
    p, m = world.people, world.scenario.market
    p.pool[:] = -1
    users = p.rows(USER)
    p.exposure[users] = 1.0
    served = ~p.orphaned(users, RETAIL)  # a pool buys from its buyer's dealer, who must be dealing
    her = users[(p.substance[users] == HEROIN) & served]
    members = her[rng.random(her.size) < m.pool_share]
    if members.size < m.pool_size:
        return
    members = members[rng.permutation(members.size)]
    members = members[stable_order(p.region[members], world.geo.n)]  # by region, in random order
    region = p.region[members].astype(np.int64)
    rank = rank_in_group(region, world.geo.n)
    counts = np.bincount(region, minlength=world.geo.n)
    full = rank < (counts[region] // m.pool_size) * m.pool_size
    members, rank = members[full], rank[full]
    leader = members[np.arange(members.size) - rank % m.pool_size]
    p.pool[members] = leader
    p.supplier[members] = p.supplier[leader]
    p.exposure[members[members == leader]] = m.pool_size


def start_weight(world: World, staying: np.ndarray, quit_weight: np.ndarray, first: int, end: int) -> np.ndarray:
    """Per market, the users who start this week per unit of start rate: the `staying` users times their mean
    quit factor (1.5 - addiction) in the reference year, so that at the start rate (= the quit rate) they
    replace the users who would quit under reference conditions, and a shortage that lowers addiction does
    not raise starting. Until the reference is set the factor is this week's (`quit_weight`, summed over the
    staying users); in the reference year it is also summed into `start_ref_sum`."""
    if world.t >= end:
        return staying * world.start_factor_ref
    if world.t >= first:
        world.start_ref_sum += np.stack([quit_weight, staying])
        if world.t == end - 1:
            w, n = world.start_ref_sum
            world.start_factor_ref = np.divide(w, n, out=np.ones_like(w), where=n > 0)
    return quit_weight


def step(world: World, rng: np.random.Generator) -> None:
    p, u = world.people, world.scenario.users
    users = p.rows(USER)
    n = world.geo.n
    size = n * N_SUBSTANCES
    quit_rate = np.tile([u.heroin_quit_rate, u.cannabis_quit_rate, u.cannabis_quit_rate], n)
    first, end = prices.ref_window(world)
    priced = world.t >= end  # conditions are weighed against the users' reference once it is set (7.4)
    rel_price = np.ones(size)
    if priced:
        ref = world.price_retail_ref.ravel()
        np.divide(world.price_retail.ravel(), ref, out=rel_price, where=ref > 0)
    base = quit_rate / WEEKS_PER_YEAR * rel_price**u.price_elasticity
    quit, quit_weight = kernels.user_week(users, p.market, p.income, p.cash, p.fill, p.addiction,
                                          CASH_CAP_WEEKS, ADDICTION_DRIFT, base, rng.random(users.size))
    quits = users[quit]
    p.set_status(quits, OUT)
    p.supplier[quits] = -1

    start = np.tile([u.heroin_start_rate, u.cannabis_start_rate, u.cannabis_start_rate], n)
    staying = np.bincount(p.market[users[~quit]], minlength=size)
    new = rng.poisson(start_weight(world, staying, quit_weight, first, end) * start / WEEKS_PER_YEAR)
    k = np.repeat(np.arange(size), new)
    rows = add_users(world, rng, (k // N_SUBSTANCES).astype(np.int16), (k % N_SUBSTANCES).astype(np.int8))
    relations.join_circles(world, rows, rng)
    world.log("start_use", person=rows, place=world.people.region[rows], substance=world.people.substance[rows])
    world.log("stop_use", person=quits, place=p.region[quits], substance=p.substance[quits],
              value=world.t - p.entered[quits])
    scatter_add(world.week.exits, (p.role[quits], p.substance[quits], 0), world.t - p.entered[quits])
    scatter_add(world.week.exits, (p.role[quits], p.substance[quits], 1), 1.0)

    if world.t % POOL_REFRESH_WEEKS == 0:
        form_pools(world, rng)
