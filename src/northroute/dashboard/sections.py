"""What the results pages show, decided from the metrics a run has, not from a fixed list of charts.

Each section names the metrics it gathers by a pattern; a run's (metric, level) pairs are sorted into the
sections, and whatever no section claims lands in "Other metrics". A section with a figure from the
report shows it (world=true); every (metric, level) of a section that has world=recorded rows, or that
has no report figure, also gets a trend chart with the true and recorded series. A section with no
metrics says so in one sentence. So when the policing issue adds `arrests` (world=recorded) it appears
under "Arrests by role" without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from northroute.report import figures
from northroute.report.compare import metric_pairs, worlds
from northroute.world.geography import load_geography

FigureMaker = Callable[[pd.DataFrame], go.Figure]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    pattern: str  # regular expression matched at the start of the metric name
    empty: str  # the sentence shown when the run has none of these metrics
    note: str = ""
    figures: tuple[tuple[str, FigureMaker], ...] = ()  # report figures, given the world=true table
    trends: bool = True  # also draw the national trend of each metric (always, when it has recorded rows)

    def claims(self, metric: str) -> bool:
        return re.match(self.pattern, metric) is not None


def _flows(ts: pd.DataFrame) -> go.Figure:
    return figures.flows_figure(ts, load_geography().route_names)


SECTIONS: tuple[Section, ...] = (
    Section("flows", "Flows by route", r"route_|in_transit|exports_g$",
            "This run has no route flows.",
            "Kilograms per route per 4 weeks (per week in runs shorter than 8 weeks; pick the substance in the "
            "chart's menu); simulated grams, not "
            "rescaled to national equivalents.", (("flows", _flows),), trends=False),
    Section("prices", "Prices by substance and level", r"price$", "This run has no prices.",
            "User-weighted national price per street gram; dashed and dotted segments over 2012 are the thesis's "
            "Table 5.6 average and median.", (("prices", figures.prices_figure),), trends=False),
    Section("seizures", "Seizures", r"seiz", "This run has no seizures.",
            "Kilograms seized in transit at each border crossing and staging post per calendar year, then the "
            "national weekly total.",
            (("seizures", figures.seizures_figure),)),
    Section("arrests", "Arrests by role", r"arrest",
            "This run has no arrests (a run of a few weeks may have none)."),
    Section("prison", "Prison population", r"prison|inmate|incarcerat",
            "This run has no prisoners or convictions (a run of a few weeks may have none)."),
    Section("corruption", "Corruption", r"corrupt|brib|kickback",
            "This run has no corruption metrics."),
    Section("people", "Users and dealers", r"(users|dealers|traffickers)$", "This run has no people counts.",
            "Users, retail dealers and wholesalers per region in the last week (log scale), then national trends.",
            (("people", figures.people_figure),)),
    Section("market", "Consumption, stock and purity", r"consum|purity|stock_g|purchases|buyers|pooled|unmet",
            "This run has no market metrics.",
            "Purity of wholesalers' and retail dealers' stock (stock-weighted), then national trends.",
            (("purity", figures.purity_figure),)),
)
OTHER = Section("other", "Other metrics", r".", "Every metric of this run is shown in a section above.",
                "Metrics that no section above claims, each with its meaning and unit from the metric list.")


@dataclass
class Plan:
    """What one section shows for one run."""

    section: Section
    pairs: list[tuple[str, str]]  # (metric, level) in this section
    trend_pairs: list[tuple[str, str]]  # those that get a trend chart
    recorded: bool  # whether any of them has world=recorded rows

    @property
    def empty(self) -> bool:
        return not self.pairs


def plan(ts: pd.DataFrame) -> list[Plan]:
    """Sort a run's metrics into the sections; unclaimed ones go to 'Other metrics' (shown only if any)."""
    pairs = metric_pairs(ts)
    claimed: set[tuple[str, str]] = set()
    plans = []
    for sec in SECTIONS:
        mine = [p for p in pairs if p not in claimed and sec.claims(p[0])]
        claimed.update(mine)
        plans.append(_plan(ts, sec, mine))
    rest = [p for p in pairs if p not in claimed]
    if rest:
        plans.append(_plan(ts, OTHER, rest))
    return plans


def _plan(ts: pd.DataFrame, sec: Section, pairs: list[tuple[str, str]]) -> Plan:
    recorded = {p for p in pairs if "recorded" in worlds(ts, *p)}
    trend = [p for p in pairs if sec.trends or not sec.figures or p in recorded]
    return Plan(sec, pairs, trend, bool(recorded))


def true_world(ts: pd.DataFrame) -> pd.DataFrame:
    return ts[ts["world"] == "true"]
