"""Anti-corruption: independent agencies detect corrupt officers, courts punish them, and the campaign's
side effects (rumour-based dismissals, manager liability) reach honest officers too.

- Detection comes from agencies outside the police (KNB, from 2014 the AGDS; M44, thesis L1858-1880)
  and asset monitoring (L1746); its yearly rate and the sentences are scenario levers set along the
  strategy's timeline (scenario anticorruption-2015; S1).
- When a protector falls, his dealers are "likely to be taken down with them" and charged with
  bribery as well (M57, L1108, L1112 [P4][O6]).
- Officers are fired on rumours: "No one will double-check where the compromising material came
  from" (M58, L1712, L1718 [P19]); the agencies count these as corruption cases (L1888 [P20]).
- Managers answer for their subordinates (S3; L1704: 52 bosses fired in Jan-Sep 2019; earlier practice L1576
  [P32], L1696; anticorruption-2015 switches it on in July 2019, an assumed date). An
  honest manager who answers for his men therefore watches them and fires the corrupt ones he finds
  before the agencies convict them (L1696, L1662-1664 [P20]; rate `corruption.supervision_rate`); the
  threat deters his line officers in `corruption.decide` (SF28).
Every officer who leaves is replaced by a new, inexperienced one (L1888 [P3]: "no one works there
longer than a couple of years").
"""

from __future__ import annotations

import numpy as np

from northroute.processes import corruption, justice, relations
from northroute.world.officers import CONVICTED, CUSTOMS, DISMISSED, HONEST, LINE, MANAGER
from northroute.world.people import WHOLESALE
from northroute.world.state import WEEKS_PER_YEAR, World

STEP_WEEKS = corruption.STEP_WEEKS  # assumption (timing convention): monthly, as corruption


def _per_step(rate_per_year: float) -> float:
    """Chance of an event of the given yearly rate within one step of `STEP_WEEKS` weeks."""
    return 1.0 - np.exp(-rate_per_year * STEP_WEEKS / WEEKS_PER_YEAR)


def init(world: World, rng: np.random.Generator) -> None:
    """The force is hired in `policing.init`; nothing more to set up."""


def step(world: World, rng: np.random.Generator) -> None:
    if world.t % STEP_WEEKS:
        return
    off, a, wk = world.officers, world.scenario.anticorruption, world.week
    corrupt, p_step = off.corrupt(), _per_step(a.detect_rate)
    regular = (off.rank[corrupt] == LINE) & (off.agency[corrupt] != CUSTOMS)  # "regular police" (L1704)
    detected = rng.random(corrupt.size) < p_step
    caught = corrupt[detected]
    off.status[caught] = CONVICTED
    wk.count("corruption_convictions", "police", None, caught.size)
    wk.count("line_corruption_convictions", "police", None, np.count_nonzero(regular[detected]))
    wk.count("line_corruption_expected", "police", None, np.count_nonzero(regular) * p_step)
    wk.count("corruption_cases", "police", None, caught.size, "recorded")
    wk.count("officer_sentence_years", "police", None, caught.size * a.sentence_years, "recorded")
    world.log("corruption_conviction", person=caught, place=off.place[caught], value=a.sentence_years)
    _take_down_clients(world, rng, caught)

    drug = off.drug_police(rank=LINE)
    drug = drug[off.mode[drug] == HONEST]
    rumoured = drug[rng.random(drug.size) < _per_step(a.rumour_dismissal)]
    off.status[rumoured] = DISMISSED
    wk.count("rumour_dismissals", "police", None, rumoured.size)
    wk.count("corruption_cases", "police", None, rumoured.size, "recorded")

    managers = off.serving(rank=MANAGER)
    hit = np.zeros(world.geo.n, bool)
    hit[off.place[caught[off.rank[caught] == LINE]]] = True
    fired = managers[hit[off.place[managers]] & (rng.random(managers.size) < a.manager_liability)]
    off.status[fired] = DISMISSED
    wk.count("managers_dismissed", "police", None, fired.size)

    found = np.zeros(0, np.int64)
    rate = corruption.supervision_rate(world)
    if rate > 0:  # no draw without liability: the other scenarios keep their random streams
        left = off.corrupt()
        left = left[corruption.watched(world, left)]
        found = left[rng.random(left.size) < _per_step(rate)]
        off.status[found] = DISMISSED
    wk.count("supervision_dismissals", "police", None, found.size)
    out = np.concatenate([rumoured, fired, found])
    world.log("dismissal", person=out, place=off.place[out])
    gone = np.concatenate([caught, out])
    corruption.hire(world, rng, off.agency[gone], off.rank[gone], off.place[gone])


def _take_down_clients(world: World, rng: np.random.Generator, caught: np.ndarray) -> None:
    """Clients of convicted protectors: arrested and charged with bribery when the law provides it (M57)."""
    p, a = world.people, world.scenario.anticorruption
    if caught.size == 0:
        return
    wh = p.rows(WHOLESALE)
    clients = wh[np.isin(p.protector[wh], caught)]
    if a.bribery_charge:
        taken = clients[rng.random(clients.size) < a.taken_down]
        world.week.count("taken_down", "wholesale", p.substance[taken], 1.0)
        justice.arrest(world, rng, taken, "taken_down", bribery=True)
    justice.end_deals_by_arrest(world, clients)  # those not arrested: the deal ends with the officer's arrest
    relations.turn_to_vory(world, rng, clients)  # and those still free may buy the Vory's protection instead (M68)
