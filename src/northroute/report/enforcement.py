"""Report figures for policing, prison and corruption, with the true and the recorded world side by side.

The thesis's warning is that police statistics are not the market (M41, L1908-1912): these figures put
arrests by the person's real role next to arrests by the level of the charge, and corruption as it is
next to corruption as the agencies count it.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from northroute.report.figures import HEIGHT, PALETTE, TEMPLATE, _label_year, empty_note
from northroute.world.people import ROLE_NAMES
from northroute.world.state import ARREST_CAUSES

LEVELS = ("user", "retail", "wholesale", "trafficking")
WORLD_COLOURS = {"true": "#1f77b4", "recorded": "#d62728"}


def _national(ts: pd.DataFrame, metric: str) -> pd.DataFrame:
    d = ts[(ts["metric"] == metric) & (ts["place"] == "KZ")]
    return d.assign(year=d["date"].dt.year)


def _year_labels(ts: pd.DataFrame) -> dict[int, str]:
    """Each year as a bar's label, a partial year with its weeks ("2013 (26 wk)"), so its sum is not misread."""
    weeks = pd.Series(ts["date"].unique()).dt.year.value_counts()
    return {int(y): _label_year(int(y), int(n)) for y, n in weeks.items()}


def arrests_figure(ts: pd.DataFrame) -> go.Figure:
    """Arrests a year by level: the person's real role (true) and the level of the charge (recorded)."""
    d = _national(ts, "arrests")
    g = d.groupby(["world", "level", "year"], observed=True)["value"].sum()
    years, label = sorted(d["year"].unique()), _year_labels(ts)
    fig = make_subplots(rows=1, cols=len(LEVELS), subplot_titles=LEVELS, shared_yaxes=False)
    for col, level in enumerate(LEVELS, start=1):
        for world, colour in WORLD_COLOURS.items():
            y = [float(g.get((world, level, yr), 0.0)) for yr in years]
            fig.add_trace(go.Bar(x=[label[yr] for yr in years], y=y, name=world, marker_color=colour,
                                 showlegend=col == 1,
                                 hovertemplate=f"{level}, %{{x}}: %{{y:,.0f}} ({world})<extra></extra>"),
                          row=1, col=col)
    fig.update_layout(template=TEMPLATE, height=HEIGHT - 60, barmode="group", legend_title="world",
                      margin={"t": 50, "r": 20, "b": 40, "l": 60})
    fig.update_yaxes(title_text="arrests (simulated rows)", row=1, col=1)
    return fig


CAUSE_LABELS = {"quota": "police targeting (quota)", "crackdown": "crackdown after violence",
                "handed_over": "handed over by a protector", "taken_down": "taken down with a protector",
                "testimony": "a witness's testimony"}


def arrest_causes_figure(ts: pd.DataFrame, events: pd.DataFrame) -> go.Figure:
    """Arrests a year by the person's role (true world), stacked by what led to them (events' `cause`): the
    police's own targeting, or a protector's hand-over, a crackdown, a testimony."""
    d = events[(events["kind"] == "arrest")] if "cause" in events else events.iloc[:0]
    d = d.assign(year=pd.to_datetime(d["date"]).dt.year)
    g = d.groupby(["role", "cause", "year"], observed=True).size()
    years, label = sorted(d["year"].unique()), _year_labels(ts)
    fig = make_subplots(rows=1, cols=len(LEVELS), subplot_titles=LEVELS, shared_yaxes=False)
    for col, (level, role) in enumerate(zip(LEVELS, ROLE_NAMES, strict=True), start=1):
        for k, cause in enumerate(ARREST_CAUSES):
            y = [int(g.get((role, cause, yr), 0)) for yr in years]
            fig.add_trace(go.Bar(x=[label[yr] for yr in years], y=y, name=CAUSE_LABELS[cause],
                                 marker_color=PALETTE[k], showlegend=col == 1, legendgroup=cause,
                                 hovertemplate=f"{level}, %{{x}}: %{{y:,}} ({CAUSE_LABELS[cause]})<extra></extra>"),
                          row=1, col=col)
    fig.update_layout(template=TEMPLATE, height=HEIGHT - 40, barmode="stack", legend_title="why arrested",
                      legend={"orientation": "h", "y": -0.15}, margin={"t": 50, "r": 20, "b": 40, "l": 60})
    fig.update_yaxes(title_text="arrests (simulated rows)", row=1, col=1)
    if d.empty:
        fig.add_annotation(**empty_note("no arrests with a recorded cause in this run"))
    return fig


def prison_figure(ts: pd.DataFrame) -> go.Figure:
    """People in prison by their role at arrest (all drugs), every four weeks."""
    d = _national(ts, "inmates").groupby(["level", "date"], observed=True)["value"].sum()
    fig = go.Figure()
    for k, level in enumerate(LEVELS):
        if level in d.index.get_level_values(0):
            s = d.loc[level]
            fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), name=level, mode="lines",
                                     line={"color": PALETTE[k]}, stackgroup="one"))
    fig.update_layout(template=TEMPLATE, height=HEIGHT - 60, yaxis_title="prisoners (simulated rows)",
                      legend_title="role at arrest", margin={"t": 30, "r": 20, "b": 40, "l": 60})
    return fig


def corruption_figure(ts: pd.DataFrame) -> go.Figure:
    """Corrupt officers and protected wholesalers (true) against corruption cases a year (recorded)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("officers and dealers (true)",
                                                        "corruption cases a year"))
    for k, (metric, label) in enumerate((("corrupt_officers", "corrupt officers"),
                                         ("protected_dealers", "protected wholesalers"))):
        s = _national(ts, metric).groupby("date")["value"].sum()
        fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), name=label, mode="lines",
                                 line={"color": PALETTE[k]}), row=1, col=1)
    year = _year_labels(ts)
    for k, (metric, world, label) in enumerate((("corruption_convictions", "true", "officers convicted (true)"),
                                                ("corruption_cases", "recorded", "cases incl. rumour dismissals "
                                                 "(recorded)"))):
        d = _national(ts, metric)
        s = d[d["world"] == world].groupby("year")["value"].sum()
        fig.add_trace(go.Bar(x=[year[int(y)] for y in s.index], y=s.to_numpy(), name=label,
                             marker_color=PALETTE[k + 2]), row=1, col=2)
    fig.update_layout(template=TEMPLATE, height=HEIGHT - 60, barmode="group",
                      margin={"t": 50, "r": 20, "b": 40, "l": 60})
    fig.update_yaxes(rangemode="tozero", title_text="simulated rows")
    return fig


def _released_text(ts: pd.DataFrame) -> str:
    """How many were let go holding no crime, a year in simulated rows (runs before session 37 do not say)."""
    d = _national(ts, "released_no_case")
    if d.empty:
        return ""
    years = ts["week"].nunique() / 52.1775
    return f", {d['value'].sum() / years:,.0f} a year in this run (simulated rows)"


def parts(ts: pd.DataFrame, fig_html, events: pd.DataFrame | None = None) -> list[str]:
    """The report's section on enforcement (empty list for runs made before it existed); the causes of the
    arrests when the events carry them (runs since session 35)."""
    if "arrests" not in set(ts["metric"].astype(str)):
        return []
    return [
        "<h2>Arrests, prison and corruption</h2>\n<p class='note'>Arrests a year by level, in simulated rows "
        "(divide by the population scale for national equivalents; a partial year shows its weeks). <b>true</b>: the "
        "arrested person's role; <b>recorded</b>: the level of the charge (possession = user, sale = retail, "
        "organised sale = wholesale, smuggling = trafficking). A pool's buyer whose purchase is documented is "
        "recorded as an organised distributor (M35); a retail dealer or pool's buyer whose sale is not documented "
        "as a user, charged with possession (M41b, <code>policing.sale_documented</code>); couriers caught with a "
        "lot at a crossing are recorded smugglers (they are not people of the model, so no conviction follows). "
        "An arrest bought off with a bribe to the arresting officer (7.10) is in neither world: both count the "
        "people charged, not every apprehension; the events table logs the bribes (kind <code>bribe</code>). Nor is "
        "a person picked and let go because what he held is no crime to possess (below Table 7.1's small amount "
        "times the threshold factors): the series <code>released_no_case</code> counts them"
        f"{_released_text(ts)}.</p>",
        fig_html(arrests_figure(ts), "fig-arrests"),
        *(["<p class='note'>Why they were arrested (true world, the person's role; from the events' "
           "<code>cause</code>; simulated rows, each panel on its own scale): the police's own pick of the month, "
           "whom the quota and the target weights of 7.9 send them to; a client handed over by a protector who "
           "stopped protecting him, or taken down with a convicted protector (7.11-7.12); the parties of a violent "
           "dispute and their partners (crackdown, M45); a wholesaler or a leader named by a cooperating witness, "
           "which happens without witness protection too, if rarely (M37). A relative who confesses in the place of "
           "the one reached (7.10) is logged with that cause, so a few users appear under causes that reach "
           "dealers. Arrests bought off with a bribe are not shown (the events log them as <code>bribe</code>, with "
           "their cause). At the default <code>corruption.team_shield_ratio</code> protection spares a protected "
           "wholesaler's team too and gives up its customers (docs/open-decisions.md, decision 10).</p>",
           fig_html(arrest_causes_figure(ts, events), "fig-causes")]
          if events is not None and "cause" in events else []),
        "<p class='note'>Prison population by role at arrest (drug prisoners present at the start, assumed, and "
        "those convicted in the run).</p>",
        fig_html(prison_figure(ts), "fig-prison"),
        "<p class='note'>Corruption as it is (serving corrupt officers, wholesalers under police protection) and "
        "as the agencies count it (convictions plus officers fired on rumours, L1888 [P20]).</p>",
        fig_html(corruption_figure(ts), "fig-corruption"),
    ]
