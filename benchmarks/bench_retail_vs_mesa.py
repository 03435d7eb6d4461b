"""Speed of northroute's retail-market rule against the same rule written the idiomatic Mesa way.

Why: northroute claims its array engine is much faster than object-per-agent ABMs; this measures it
on one rule both sides can run from identical starting numbers. The Mesa model is copied from a
freshly built northroute world (same users, dealers, wholesalers, links, stocks, cash and prices),
then each side runs its weekly steps and is timed without build time. Rates are agent-steps per
second (agents = users + dealers + wholesalers, one step = one week), so a Mesa run timed over fewer
weeks stays comparable.

Without wholesale purchases (not part of this rule) the wholesalers' starting stock lasts about five
weeks at baseline demand, after which nothing sells and both sides time an empty market. So by default
both sides get their wholesalers' starting stock back before every week, outside the timed region;
`--no-resupply` times the rule exactly as it runs on its own.

    python benchmarks/bench_retail_vs_mesa.py --scale 0.05 --weeks 20 [--mesa-weeks 3] [--no-resupply] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import northroute
from mesa_retail import RetailModel, RetailSetup, WholesalerAgent
from northroute.processes import trade
from northroute.processes.prices import cutting
from northroute.processes.users import CASH_CAP_WEEKS
from northroute.sim import build_world
from northroute.world.people import RETAIL, USER, WHOLESALE, purity
from northroute.world.state import World


@dataclass
class Timing:
    """Wall time of each timed week and the street grams users got in the first of them."""

    week_seconds: list[float]
    grams_first_week: float

    @property
    def weeks(self) -> int:
        return len(self.week_seconds)

    @property
    def seconds(self) -> float:
        return sum(self.week_seconds)

    def rate(self, agents: int) -> float:
        """Agent-steps per second over the whole timed run."""
        return agents * self.weeks / self.seconds

    def median_rate(self, agents: int) -> float:
        """Agent-steps per second in the median week: on a shared machine, robust to other processes."""
        return agents / float(np.median(self.week_seconds))


def make_world(scale: float, seed: int) -> World:
    return build_world(northroute.load_scenario("baseline-2012", [f"population.scale={scale}"]), seed)


def slots(rows: np.ndarray, size: int) -> np.ndarray:
    """Person row -> position in `rows` (-1 elsewhere), to turn row links into list indices."""
    slot = np.full(size, -1, np.int64)
    slot[rows] = np.arange(rows.size)
    return slot


def links(targets: np.ndarray, slot: np.ndarray) -> list[int]:
    """List index of each link target, -1 where the link is missing or points outside the role."""
    return np.where(targets >= 0, slot[np.maximum(targets, 0)], -1).tolist()


def setup_from_world(world: World) -> RetailSetup:
    """Copy the numbers and links the retail rule reads into plain lists for the Mesa model."""
    p, m = world.people, world.scenario.market
    users, dealers, wh = p.rows(USER), p.rows(RETAIL), p.rows(WHOLESALE)
    return RetailSetup(
        wholesaler_stock=p.stock_g[wh].tolist(),
        wholesaler_purity=purity(p.stock_g[wh], p.pure_g[wh]).tolist(),
        wholesaler_cash=p.cash[wh].tolist(),
        wholesaler_demand=p.demand_ewma[wh].tolist(),
        dealer_supplier=links(p.supplier[dealers], slots(wh, len(p))),
        dealer_substance=p.substance[dealers].tolist(),
        dealer_stock=p.stock_g[dealers].tolist(),
        dealer_purity=purity(p.stock_g[dealers], p.pure_g[dealers]).tolist(),
        dealer_cash=p.cash[dealers].tolist(),
        dealer_demand=p.demand_ewma[dealers].tolist(),
        dealer_need=p.need_g[dealers].tolist(),
        user_dealer=links(p.supplier[users], slots(dealers, len(p))),
        user_market=p.market[users].tolist(),
        user_need=p.need_g[users].tolist(),
        user_cash=p.cash[users].tolist(),
        user_income=p.income[users].tolist(),
        price_table=world.price_retail.ravel().tolist(),
        cutting=cutting(world).tolist(),
        retail_cover_weeks=m.retail_cover_weeks,
        dealer_commission=m.dealer_commission,
        dealer_daily_dose=m.dealer_daily_dose,
        cash_cap_weeks=CASH_CAP_WEEKS,
    )


def agent_count(world: World) -> int:
    p = world.people
    return sum(p.rows(role).size for role in (USER, RETAIL, WHOLESALE))


def northroute_week(world: World, rng: np.random.Generator, users: np.ndarray) -> None:
    """The same weekly rule as RetailModel.step: restock, sell, then the users' capped income."""
    p = world.people
    world.new_week()
    trade.consign_to_retail(world)
    trade.retail_sales(world, rng)
    p.cash[users] = np.minimum(p.cash[users] + p.income[users], CASH_CAP_WEEKS * p.income[users])


def grams_to_users(world: World, users: np.ndarray) -> float:
    """Street grams users got this week: retail_settle leaves fill = got / need on every user."""
    p = world.people
    return float(np.dot(p.fill[users].astype(np.float64), p.need_g[users].astype(np.float64)))


def resupply_northroute(world: World) -> Callable[[], None]:
    """A callable that puts the wholesalers' starting bulk and pure grams back (purity is unchanged)."""
    p, wh = world.people, world.people.rows(WHOLESALE)
    stock, pure = p.stock_g[wh].copy(), p.pure_g[wh].copy()

    def refill() -> None:
        p.stock_g[wh] = stock
        p.pure_g[wh] = pure

    return refill


def resupply_mesa(model: RetailModel) -> Callable[[], None]:
    """A callable that puts every wholesaler's starting stock back (a Mesa wholesaler's purity never changes)."""
    start = [(agent, agent.stock) for agent in model.agents_by_type[WholesalerAgent]]

    def refill() -> None:
        for agent, stock in start:
            agent.stock = stock

    return refill


def time_weeks(step: Callable[[], None], grams: Callable[[], float], weeks: int,
               refill: Callable[[], None] | None) -> Timing:
    """Time `weeks` calls of `step`; refilling and counting grams happen outside the clock."""
    seconds, first = [], 0.0
    for week in range(weeks):
        if refill is not None:
            refill()
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
        if week == 0:
            first = grams()
    return Timing(seconds, first)


def time_northroute(world: World, weeks: int, resupply: bool) -> Timing:
    users, rng = world.people.rows(USER), world.rngs["trade"]
    return time_weeks(lambda: northroute_week(world, rng, users), lambda: grams_to_users(world, users), weeks,
                      resupply_northroute(world) if resupply else None)


def time_mesa(model: RetailModel, weeks: int, resupply: bool) -> Timing:
    return time_weeks(model.step, model.grams_to_users, weeks, resupply_mesa(model) if resupply else None)


def warm_up(scale: float, seed: int) -> None:
    """Load the numba kernels (compiled or from cache) on a throwaway world, so no timed week pays it."""
    world = make_world(scale, seed)
    northroute_week(world, world.rngs["trade"], world.people.rows(USER))


def run(scale: float, weeks: int, mesa_weeks: int, seed: int, resupply: bool = True) -> dict:
    """Time northroute before the Mesa agents exist, so its weeks do not pay for garbage-collector
    passes over ~16,000 Mesa agent objects (the Mesa weeks do, as they would in any Mesa run)."""
    warm_up(scale, seed)
    world = make_world(scale, seed)
    setup, agents = setup_from_world(world), agent_count(world)
    nr = time_northroute(world, weeks, resupply)
    model = RetailModel(setup, seed=seed)
    if len(model.agents) != agents:
        raise RuntimeError(f"Mesa has {len(model.agents)} agents, northroute {agents}")
    ms = time_mesa(model, mesa_weeks, resupply)
    return {
        "scale": scale, "agents": agents, "weeks": weeks, "mesa_weeks": mesa_weeks, "resupply": resupply,
        "northroute_s": nr.seconds, "mesa_s": ms.seconds,
        "northroute_steps_per_s": nr.rate(agents), "mesa_steps_per_s": ms.rate(agents),
        "ratio": nr.rate(agents) / ms.rate(agents),
        "northroute_median_week_steps_per_s": nr.median_rate(agents),
        "mesa_median_week_steps_per_s": ms.median_rate(agents),
        "ratio_median_week": nr.median_rate(agents) / ms.median_rate(agents),
        "grams_northroute": nr.grams_first_week, "grams_mesa": ms.grams_first_week,
    }


def print_table(r: dict) -> None:
    supply = "wholesalers resupplied each week (untimed)" if r["resupply"] else "no resupply"
    print(f"retail rule (consign_to_retail + retail_sales + income), scale {r['scale']}, {r['agents']:,} agents, "
          f"{supply}")
    print(f"{'engine':<12}{'weeks':>7}{'seconds':>10}{'agent-steps/s':>16}{'median week':>14}{'grams wk1':>13}")
    for name, key, weeks in (("northroute", "northroute", r["weeks"]), ("mesa 3.3.1", "mesa", r["mesa_weeks"])):
        print(f"{name:<12}{weeks:>7}{r[key + '_s']:>10.3f}{r[key + '_steps_per_s']:>16,.0f}"
              f"{r[key + '_median_week_steps_per_s']:>14,.0f}{r['grams_' + key]:>13,.1f}")
    print(f"ratio northroute/mesa: {r['ratio']:,.1f}x over the run, {r['ratio_median_week']:,.1f}x in the median week")
    if r["mesa_weeks"] != r["weeks"]:
        print(f"note: Mesa timed over {r['mesa_weeks']} weeks only; rates are per agent-step, so comparable.")
    gap = r["grams_northroute"] / r["grams_mesa"] - 1.0 if r["grams_mesa"] else float("nan")
    print(f"grams to users in week 1 differ by {gap:+.4%}. They may differ somewhat: northroute also lets a user "
          "whose dealer ran short try a second dealer in the same market, the Mesa reference does not.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--mesa-weeks", type=int, default=None, help="weeks to time Mesa over (default: --weeks)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-resupply", dest="resupply", action="store_false",
                    help="do not give wholesalers their starting stock back each week (market dries up)")
    ap.add_argument("--json", action="store_true", help="also print one JSON line")
    args = ap.parse_args(argv)
    result = run(args.scale, args.weeks, args.mesa_weeks or args.weeks, args.seed, args.resupply)
    print_table(result)
    if args.json:
        keys = ("scale", "agents", "weeks", "northroute_steps_per_s", "mesa_steps_per_s", "ratio",
                "grams_northroute", "grams_mesa", "mesa_weeks", "resupply", "ratio_median_week")
        print(json.dumps({k: result[k] for k in keys}))


if __name__ == "__main__":
    main()
