"""Prison: time served, ties formed inside, obshak payments, and release back into the market.

- Prison is where people network and build reputation (thesis L1114-1131, L1189-1199): 70% of a
  convicted group's members "were in prison together" (L1199 [P23]). Inmates of one region's prison
  form ties that `relations.find_introducers` later uses to open the way to wholesale (M14).
- Payment to the obshak cannot be escaped inside (L848 [P2]); clients of the Vory, who paid in
  anticipation of prison (L832 [P28], M64, M65), are exempt.
- Released prisoners have "almost no legal opportunity" and return to the environment they know
  (L980 [DE1][DE2], M69): after a first term their legal income falls to `prison.release_income_share`
  of what it was, so more of them cannot finance their habit and are recruited to deal first (M31).
  Users and retail dealers come back as users of their drug, wholesalers and traffickers as wholesalers
  (they "transform their freshly gained knowledge and networks into business opportunities", L980), all
  without cash or supplier; their prison mates can now find an introducer in them. A released user with
  a prison mate now at wholesale in his market joins his team if it has room (`careers.back_from_prison`,
  unless `prison.back_to_dealing` is off; ODD 7.13 rule 5).
"""

from __future__ import annotations

import numpy as np

from northroute.processes import careers, relations, users
from northroute.processes.matching import random_member
from northroute.world.people import ACTIVE, HEROIN, PRISON, RETAIL, TRAFFICKER, USER, VORY, WHOLESALE
from northroute.world.state import N_SUBSTANCES, WEEKS_PER_YEAR, World
from northroute.world.ties import PRISON as PRISON_TIE

PRISON_STEP_WEEKS = 4  # assumption (timing convention): monthly releases, new ties and obshak payments
INMATE_ROLES = (0.6, 0.3, 0.1)  # assumption: users, retail dealers, wholesalers among drug prisoners at the start
INMATE_DRUGS = (0.8, 0.17, 0.03)  # assumption: heroin ~80% of drug cases (thesis L1349 [P12]), rest cannabis
INITIAL_TERM_YEARS = 8.0  # assumption: time left to serve is uniform up to ~0.7 x 12 years


def lose_legal_income(world: World, rows: np.ndarray) -> None:
    """After a first term a person has "almost no legal opportunity to provide for [himself]" (L980 [DE1]):
    his legal income falls to `prison.release_income_share` of what it was, once (a later term does not
    cut it again). Called for those leaving a first term and for those who served before the run."""
    p = world.people
    first = rows[p.convictions[rows] == 1]
    p.income[first] *= world.scenario.prison.release_income_share


def admit(world: World, rows: np.ndarray, years: np.ndarray) -> None:
    """Send the sentenced to prison for the share of their sentence they serve (at least a week), counting
    the conviction for their record."""
    p = world.people
    served = np.maximum(1, np.round(years * world.scenario.prison.served_share * WEEKS_PER_YEAR))
    p.release[rows] = world.t + served.astype(np.int32)
    p.convictions[rows] = np.minimum(p.convictions[rows].astype(np.int16) + 1, 100).astype(np.int8)
    p.since[rows] = world.t  # time inside, for the ties of the month
    p.set_status(rows, PRISON)


def inmates(world: World) -> np.ndarray:
    """Rows of the people in prison now."""
    return np.flatnonzero(world.people.status == PRISON)


def init(world: World, rng: np.random.Generator) -> None:
    """Drug prisoners already serving at the start, and the prison ties of those who served before:
    ~70% of convicted group members had records and 'were in prison together' (L1199 [P23]); the users
    of 2012 had used for years, and some of them had served a term ("a majority of drug addicts sooner
    or later end up in prison", L980 [DE7])."""
    p, geo, pr = world.people, world.geo, world.scenario.prison
    using = p.rows(USER)
    record = np.where(p.substance[using] == HEROIN, pr.heroin_user_record_share, pr.cannabis_user_record_share)
    using = using[rng.random(using.size) < record]
    n = int(rng.poisson(pr.initial_inmates * world.scale))
    inside = np.zeros(0, np.int64)
    if n:
        weight = np.nan_to_num(geo.population[geo.regions])
        region = rng.choice(geo.regions, n, p=weight / weight.sum()).astype(np.int16)
        inside = users.add_users(world, rng, region, rng.choice(3, n, p=INMATE_DRUGS).astype(np.int8))
        role = rng.choice(3, n, p=INMATE_ROLES)
        for r in (RETAIL, WHOLESALE):
            p.set_role(inside[role == r], r)
        p.circle[inside] = inside
        relations.join_community(world, inside, rng)  # the kin group is not kept out of prison
        p.cash[inside] = 0.0
        p.convictions[inside] = 1
        p.release[inside] = world.t + rng.integers(1, int(INITIAL_TERM_YEARS * WEEKS_PER_YEAR), n)
        p.since[inside] = world.t - PRISON_STEP_WEEKS  # admitted before the run: tied up below, not again
        p.set_status(inside, PRISON)
    dealers = np.concatenate([p.rows(RETAIL), p.rows(WHOLESALE), p.rows(TRAFFICKER)])
    served = np.concatenate([dealers[rng.random(dealers.size) < pr.prior_record_share], using])
    p.convictions[served] = 1
    lose_legal_income(world, served)
    _tie_up(world, rng, np.concatenate([served, inside]), np.concatenate([served, inside]))


def step(world: World, rng: np.random.Generator) -> None:
    if world.t % PRISON_STEP_WEEKS:
        return
    p = world.people
    inside = inmates(world)
    if inside.size == 0:
        return
    _form_ties(world, rng, inside)
    _obshak(world, inside)
    out = inside[p.release[inside] <= world.t]
    if out.size:
        world.log("release", person=out, place=p.region[out], substance=p.substance[out])
        upper = out[p.role[out] >= WHOLESALE]
        p.set_role(out[p.role[out] < WHOLESALE], USER)
        p.set_role(upper, WHOLESALE)  # back to the weight, with the contacts made inside (L980, M69)
        p.supplier[out] = -1
        p.pool[out] = -1
        p.cash[out] = 0.0
        p.since[out] = world.t
        p.circle[out] = np.where(p.circle[out] >= 0, p.circle[out], out)  # ex-dealers start a circle of their own
        p.set_status(out, ACTIVE)
        lose_legal_income(world, out)
        careers.back_from_prison(world, rng, out[p.role[out] == USER])


def _form_ties(world: World, rng: np.random.Generator, inside: np.ndarray) -> None:
    """Each inmate admitted in the last month meets `ties_per_inmate` others of his region's prison."""
    p = world.people
    _tie_up(world, rng, inside[p.since[inside] > world.t - PRISON_STEP_WEEKS], inside)


def _tie_up(world: World, rng: np.random.Generator, new: np.ndarray, inside: np.ndarray) -> None:
    """Prison ties from each of `new` to about `ties_per_inmate` of `inside` in his region."""
    p = world.people
    k = rng.poisson(world.scenario.prison.ties_per_inmate, new.size)
    src = np.repeat(new, k)
    if src.size == 0:
        return
    dst = random_member(rng, p.region[src].astype(np.int64), inside, p.region[inside].astype(np.int64), world.geo.n)
    ok = (dst >= 0) & (dst != src)
    world.ties.add(src[ok].astype(np.int32), dst[ok].astype(np.int32), PRISON_TIE, world.t)


def _obshak(world: World, inside: np.ndarray) -> None:
    """Dealer-inmates pay a share of their cash to the Vory's fund each month, unless Vory clients."""
    p = world.people
    payers = inside[(p.role[inside] != USER) & ((p.flags[inside] & VORY) == 0) & (p.cash[inside] > 0)]
    paid = p.cash[payers] * world.scenario.prison.obshak_share
    p.cash[payers] -= paid
    world.week.vory_fees += np.bincount(p.substance[payers], paid, N_SUBSTANCES)
