"""Build the world and run the weekly schedule (DESIGN §5), in one place.

One week, in order:
 1. timeline events (a scenario changes a parameter from a date on)
 2. supply       Afghan heroin at Osh/Uzbekistan, Chu Valley harvest, greenhouses
 3. trafficking  lots move a leg, cross borders, are split at hubs, are sold in Russia
 4. trade        wholesalers buy lots, supply retail teams, dealers sell to users
 5. users        income, addiction, quitting, starting, buying pools
 6. relations    (monthly) reputation, cheating and sanctions, vouching failures, fading trade ties
 7. careers      (monthly) leaving the trade, recruitment into retail, promotion to wholesale,
                 users finding a new regular dealer
 8. policing     Koknar; quota arrests of the most exposed, through `justice` (charges, sentences)
 9. corruption   (monthly) officers weigh bribes against risk; protection deals, payments, extortion
10. anticorruption (monthly) detection and conviction of corrupt officers, their clients taken down,
                 rumour dismissals, manager liability, replacements
11. prison       (monthly) ties inside, obshak, release back into the market
12. prices       by region, substance and level, from cost, markup, scarcity and risk
13. record       metrics of the week
`justice` has no step of its own: policing and anti-corruption call it for every arrest.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

import numpy as np

from northroute.processes import (
    anticorruption,
    careers,
    corruption,
    policing,
    prices,
    prison,
    relations,
    supply,
    trade,
    trafficking,
    users,
)
from northroute.record import Recorder
from northroute.scenario import Scenario, ScenarioError, apply_override
from northroute.world.geography import load_geography
from northroute.world.memory import release
from northroute.world.people import People
from northroute.world.shipments import Lots
from northroute.world.state import Ledger, World

SCHEDULE = (
    ("supply", supply),
    ("trafficking", trafficking),
    ("trade", trade),
    ("users", users),
    ("relations", relations),
    ("careers", careers),
    ("policing", policing),
    ("corruption", corruption),
    ("anticorruption", anticorruption),
    ("prison", prison),
    ("prices", prices),
)
INIT_ORDER = ("users", "careers", "relations", "prices", "supply", "trafficking", "trade", "policing",
              "corruption", "anticorruption", "prison")

Progress = Callable[[int, int], None]


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of one module: depends only on the seed and the module's name, so
    scenarios that differ in one lever share all other randomness (common random numbers)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),)))


def expected_rows(scenario: Scenario) -> int:
    """People rows a run will need: users at the start plus those who start during the run, with
    dealers and traffickers, so the table is allocated once instead of grown and copied."""
    pop, u = scenario.population, scenario.users
    years = (scenario.weeks + scenario.time.burn_in_weeks) / 52.1775
    her = pop.heroin_users * (1 + u.heroin_start_rate * years)
    can = pop.cannabis_users * (1 + u.cannabis_start_rate * years)
    staff = 1 + 1 / pop.users_per_retail_dealer / pop.retail_per_wholesaler
    return int(1.05 * (her + can) * pop.scale * staff) + 1024


def build_world(scenario: Scenario, seed: int) -> World:
    """The world of the first week: every module's initial state, in dependency order, with one random
    stream per module so that a change in one module's draws leaves the others' alone."""
    scenario = scenario.model_copy(deep=True)
    geo = load_geography()
    rows = expected_rows(scenario)
    rngs = {name: stream(seed, name) for name, _ in SCHEDULE}
    world = World(scenario=scenario, geo=geo, people=People(rows), lots=Lots(1024), rngs=rngs)
    world.new_week()
    modules = dict(SCHEDULE)
    for name in INIT_ORDER:
        modules[name].init(world, rngs[name])
    careers.fund(world)
    relations.vory_at_start(world, rngs["relations"])
    world.ledger = Ledger()  # what the warm start put on the routes counts as initial stock
    world.events.clear()
    world.initial_stock = world.stock_totals()
    return world


def _apply_timeline(world: World, done: int) -> int:
    events = world.scenario.timeline
    while done < len(events) and events[done].date <= world.date:
        for key, value in events[done].set.items():
            try:
                apply_override(world.scenario, key, value)
            except ScenarioError as exc:
                raise ScenarioError(f"timeline {events[done].date}: {exc}") from None
        done += 1
    return done


def advance(world: World, module_time: dict[str, float] | None = None) -> None:
    """Simulate one week: every process of the schedule once, in order."""
    world.new_week()
    for name, module in SCHEDULE:
        t1 = time.perf_counter()
        module.step(world, world.rngs[name])
        if module_time is not None:
            module_time[name] += time.perf_counter() - t1


def simulate(scenario: Scenario, seed: int = 0, progress: Progress | None = None) -> tuple[World, Recorder, dict]:
    """Run the whole schedule; returns the final world, its recorder and run statistics."""
    t0 = time.perf_counter()
    world = build_world(scenario, seed)
    recorder = Recorder(world)
    total = world.burn_in + scenario.weeks
    done = 0
    agent_steps = 0
    peak_rows = len(world.people)
    module_time = dict.fromkeys([name for name, _ in SCHEDULE] + ["record"], 0.0)
    for _ in range(total):
        done = _apply_timeline(world, done)
        advance(world, module_time)
        t1 = time.perf_counter()
        recorder.record(world)
        module_time["record"] += time.perf_counter() - t1
        agent_steps += int(np.count_nonzero(world.people.status == 0))
        if world.t % 4 == 0:
            release()
        peak_rows = max(peak_rows, len(world.people))
        world.t += 1
        if progress is not None:
            progress(world.t, total)
    stats = {
        "wall_time_s": time.perf_counter() - t0,
        "weeks_simulated": total,
        "weeks_recorded": scenario.weeks,
        "agent_steps": agent_steps,
        "agent_rows": len(world.people),
        "lot_rows_final": len(world.lots),
        "module_time_s": {k: round(v, 3) for k, v in module_time.items()},
    }
    return world, recorder, stats
