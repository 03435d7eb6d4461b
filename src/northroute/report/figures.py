"""Plotly figures and the small tables behind them, built from a run's long time-series table.

Every function takes the long table (week, date, place, substance, level, metric, world, value), already
restricted to one world, and works with pandas groupby; loops run only over substances, routes or levels
to make traces. No figure needs anything from the internet: the map is a plain `go.Scatter` on lon/lat
axes, not a `Scattergeo` (which would fetch topojson from a CDN), and its region polygons come from the
GeoJSON shipped in `northroute/data` (see `boundaries.py`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from northroute.processes.prices import staging_posts
from northroute.report.boundaries import BBOX, load_boundaries, rings
from northroute.results import table_2012
from northroute.world.geography import load_geography, read_table
from northroute.world.people import SUBSTANCE_NAMES

TEMPLATE = "plotly_white"
HEIGHT = 460
BLOCK_WEEKS = 4
MIN_STOCK_G = 1e-3
LEVELS = ("wholesale", "retail")
LEVEL_COLOURS = {"wholesale": "#1f77b4", "retail": "#d62728"}
SUBSTANCE_COLOURS = {"heroin": "#7b3294", "marijuana": "#1b9e77", "hashish": "#d95f02"}
ROLE_LABELS = (
    ("users", "user", "users"),
    ("dealers", "retail", "retail dealers"),
    ("dealers", "wholesale", "wholesalers"),
)
# Label positions on the schematic map where the default (above the marker) would collide.
MAP_TEXT = {
    "BISHKEK": "bottom right",
    "KORDAI": "top right",
    "SYPATAI_BATYR": "bottom left",
    "ZHA": "top left",
    "YUZ": "middle left",
    "ZHIBEK_ZHOLY": "middle right",
    "UZB": "middle left",
    "TJK": "bottom center",
    "OSH": "bottom center",
    "CHU": "top center",
    "ALA": "middle right",
    "KARAKOGA": "bottom center",
    "SEV": "top left",
    "OMSK": "top right",
    "SYRYM": "middle left",
    "ZAP": "bottom right",
    "KAIRAK": "middle left",
    "KUS": "bottom right",
    "CHELYABINSK": "middle right",
    "AUYL": "middle left",
    "SHARBAKTY": "bottom right",
}
MAP_SCALE = [[0.0, "#fbf6e9"], [1.0, "#b98b5a"]]  # pale, so routes stay readable on top
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


# ---------------------------------------------------------------------------------------------- helpers


def select(ts: pd.DataFrame, metric: str, level: str | None = None) -> pd.DataFrame:
    mask = ts["metric"] == metric
    if level is not None:
        mask &= ts["level"] == level
    return ts.loc[mask, ["week", "date", "place", "substance", "level", "value"]]


def places_table() -> pd.DataFrame:
    """places.csv indexed by code, with a short label for axes and map labels."""
    places = read_table("places.csv").set_index("code")
    short = places["name"].str.split(" (", regex=False).str[0].str.split(",", regex=False).str[0]
    crossing = places["kind"] == "crossing"
    short[crossing] = places.index[crossing].str.replace("_", " ").str.title()
    city = places["name"].str.extract(r"\(([^)]*)\)$", expand=False)
    on_map = short.where(places["kind"] != "region", city.fillna(short))
    return places.assign(short=short, on_map=on_map)


def _label_year(year: int, n_weeks: int) -> str:
    return str(year) if n_weeks >= 52 else f"{year} ({n_weeks} wk)"


def empty_note(text: str) -> dict:
    """A centred annotation that says in words why a chart (or one menu choice of it) has nothing to draw."""
    return {"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False,
            "font": {"size": 14, "color": "#666"}}


def substance_menu(n_per: list[int], labels: list[str], y: float = 1.16,
                   notes: list[str | None] | None = None) -> list[dict]:
    """A dropdown that shows one group of traces at a time (groups given by their trace counts); `notes` gives
    each group an optional sentence shown instead of an empty plot."""
    total = sum(n_per)
    buttons, start = [], 0
    notes = notes or [None] * len(n_per)
    for n, label, note in zip(n_per, labels, notes, strict=True):
        visible = [start <= i < start + n for i in range(total)]
        buttons.append({"label": label, "method": "update",
                        "args": [{"visible": visible}, {"annotations": [empty_note(note)] if note else []}]})
        start += n
    return [
        {
            "buttons": buttons,
            "direction": "down",
            "x": 0.0,
            "xanchor": "left",
            "y": y,
            "yanchor": "top",
            "showactive": True,
        }
    ]


# ----------------------------------------------------------------------------------------------- tables


def summary_table(ts: pd.DataFrame) -> pd.DataFrame:
    """Per substance: kg supplied to routes, exported, seized at crossings and at staging posts, consumed;
    end-of-run people."""
    subs = list(SUBSTANCE_NAMES)

    def kg(metric: str) -> pd.Series:
        return select(ts, metric).groupby("substance", observed=True)["value"].sum().reindex(subs, fill_value=0) / 1e3

    last = ts.loc[ts["week"] == ts["week"].max()]
    out = pd.DataFrame(
        {
            "kg entering routes": kg("route_supply_g"),
            "kg exported to Russia": kg("route_exports_g"),
            "kg seized at crossings": kg("seizures_g"),
            "kg seized at staging posts": kg("staging_seizures_g"),
            "kg consumed": kg("consumption_g"),
        }
    )
    for metric, level, label in ROLE_LABELS:
        out[f"{label} (last week)"] = (
            select(last, metric, level).groupby("substance", observed=True)["value"].sum().reindex(subs, fill_value=0)
        )
    out.index.name = "substance"
    return out


def national_prices(ts: pd.DataFrame) -> pd.DataFrame:
    """User-weighted national prices (place KZ), zeros (no users anywhere) as NaN."""
    df = select(ts, "price")
    df = df[df["place"] == "KZ"].copy()
    df["value"] = df["value"].where(df["value"] > 0)
    return df


def price_comparison(ts: pd.DataFrame, year: int = 2012) -> pd.DataFrame:
    """Model mean national price in `year` per substance and level vs Table 5.6 (2012) average and median; and
    the regions whose mean price in `year` lies below the table's minimum or above its maximum, read as its
    cheapest and dearest region (the garbled heroin retail minimum is left out: NaN, no region below)."""
    prices = select(ts, "price")
    prices = prices[(prices["date"].dt.year == year) & (prices["value"] > 0)]
    national = prices["place"] == "KZ"
    model = prices[national].groupby(["substance", "level"], observed=True)["value"].agg(["mean", "count"])
    regional = prices[~national].groupby(["substance", "level", "place"], observed=True)["value"].mean()
    idx = pd.MultiIndex.from_product([list(SUBSTANCE_NAMES), list(LEVELS)], names=["substance", "level"])
    out = pd.DataFrame(index=idx)
    out["model_mean"] = model["mean"].reindex(idx)
    out["weeks"] = model["count"].reindex(idx).fillna(0).astype(int)
    for stat in ("average", "median", "min", "max"):
        out[f"table_{stat}"] = table_2012(stat).reindex(idx)
    out["ratio_average"] = out["model_mean"] / out["table_average"]
    out["ratio_median"] = out["model_mean"] / out["table_median"]
    key = regional.index.droplevel("place")
    lo = out["table_min"].reindex(key).to_numpy()
    hi = out["table_max"].reindex(key).to_numpy()
    places = regional.index.get_level_values("place").astype(str)
    for name, outside in (("below", regional.to_numpy() < lo), ("above", regional.to_numpy() > hi)):
        listed = pd.Series(places[outside], index=key[outside]).groupby(level=[0, 1], observed=True).agg(list)
        out[f"regions_{name}"] = [listed.get(k, []) for k in idx]
    out["regions"] = regional.groupby(level=[0, 1], observed=True).size().reindex(idx).fillna(0).astype(int)
    return out


def weighted_purity(ts: pd.DataFrame) -> pd.DataFrame:
    """National purity per week, substance and level: regional purity weighted by the level's stock."""
    keys = ["week", "place", "substance", "level"]
    pur = select(ts, "purity").set_index(keys)["value"]
    stock = select(ts, "stock_g").set_index(keys)["value"]
    df = pd.DataFrame({"purity": pur, "stock": stock.reindex(pur.index)}).reset_index()
    # Stocks carry float residue (1e-47 g, -3e-14 g) once sold out: below a milligram a region has no stock.
    df["stock"] = df["stock"].where(df["stock"] > MIN_STOCK_G, 0.0)
    df["pw"] = df["purity"] * df["stock"]
    g = df.groupby(["substance", "level", "week"], observed=True)[["pw", "stock"]].sum()
    g["purity"] = (g["pw"] / g["stock"]).where(g["stock"] > 0)
    dates = ts.drop_duplicates("week").set_index("week")["date"]
    g = g.reset_index()
    g["date"] = g["week"].map(dates)
    return g


# ---------------------------------------------------------------------------------------------- figures


def flows_figure(ts: pd.DataFrame, route_names: tuple[str, ...]) -> go.Figure:
    """kg per route per 4-week block (route_flow_g), one line per route, a dropdown per substance."""
    df = select(ts, "route_flow_g")
    n_weeks = int(ts["week"].max()) + 1
    block = BLOCK_WEEKS if n_weeks >= 2 * BLOCK_WEEKS else 1
    full = n_weeks // block
    df = df.assign(block=df["week"] // block)
    df = df[df["block"] < full]
    g = df.groupby(["substance", "place", "block"], observed=True).agg(date=("date", "first"), kg=("value", "sum"))
    g["kg"] /= 1e3
    totals = g.groupby(level=["substance", "place"], observed=True)["kg"].sum()
    colours = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(route_names)}
    fig = go.Figure()
    n_per = []
    for k, sub in enumerate(SUBSTANCE_NAMES):
        routes = [r for r in route_names if totals.get((sub, r), 0) > 0]
        for r in routes:
            part = g.loc[(sub, r)]
            fig.add_trace(
                go.Scatter(
                    x=part["date"],
                    y=part["kg"].round(3),
                    mode="lines",
                    name=r,
                    line={"color": colours[r], "width": 2},
                    visible=k == 0,
                    hovertemplate=f"{r}<br>%{{x|%Y-%m-%d}}: %{{y:,.1f}} kg<extra>{sub}</extra>",
                )
            )
        n_per.append(len(routes))
    unit = f"kg per {block} weeks" if block > 1 else "kg per week"
    notes = [None if n else f"No {sub} entered Kazakhstan on any route in these weeks."
             for n, sub in zip(n_per, SUBSTANCE_NAMES, strict=True)]
    fig.update_layout(
        template=TEMPLATE,
        height=HEIGHT,
        margin={"t": 70, "r": 20, "b": 40, "l": 60},
        updatemenus=substance_menu(n_per, list(SUBSTANCE_NAMES), notes=notes),
        annotations=[empty_note(notes[0])] if notes[0] else [],
        yaxis={"title": unit, "rangemode": "tozero"},
        legend_title="route",
    )
    return fig


def prices_figure(ts: pd.DataFrame) -> go.Figure:
    """National wholesale and retail prices per substance, Table 5.6 2012 average and median over 2012."""
    prices = national_prices(ts)
    ref = {stat: table_2012(stat) for stat in ("average", "median")}
    x2012 = pd.to_datetime(["2012-01-01", "2012-12-31"])
    fig = make_subplots(rows=1, cols=3, subplot_titles=list(SUBSTANCE_NAMES), horizontal_spacing=0.07)
    for col, sub in enumerate(SUBSTANCE_NAMES, start=1):
        for level in LEVELS:
            colour, first = LEVEL_COLOURS[level], col == 1
            part = prices[(prices["substance"] == sub) & (prices["level"] == level)]
            fig.add_trace(
                go.Scatter(
                    x=part["date"],
                    y=part["value"].round(2),
                    mode="lines",
                    name=f"model {level}",
                    legendgroup=f"model {level}",
                    showlegend=first,
                    line={"color": colour, "width": 2},
                    hovertemplate=f"{sub} {level}<br>%{{x|%Y-%m-%d}}: %{{y:,.0f}} KZT/g<extra></extra>",
                ),
                row=1,
                col=col,
            )
            for stat, dash in (("average", "dash"), ("median", "dot")):
                val = ref[stat].get((sub, level))
                if val is None or not np.isfinite(val):
                    continue
                name = f"Table 5.6 {level} {stat} (2012)"
                fig.add_trace(
                    go.Scatter(
                        x=x2012,
                        y=[val, val],
                        mode="lines+markers",
                        name=name,
                        legendgroup=name,
                        showlegend=first,
                        line={"color": colour, "width": 2, "dash": dash},
                        marker={"symbol": "line-ns-open", "size": 10, "color": colour},
                        hovertemplate=f"{name}: {val:,.2f} KZT/g<extra>{sub}</extra>",
                    ),
                    row=1,
                    col=col,
                )
    fig.update_yaxes(title_text="KZT per street gram", row=1, col=1)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        template=TEMPLATE,
        height=HEIGHT,
        margin={"t": 50, "r": 20, "b": 40, "l": 60},
        legend={"orientation": "h", "y": -0.12},
    )
    return fig


def people_figure(ts: pd.DataFrame) -> go.Figure:
    """Last week's users, retail dealers and wholesalers per region, grouped bars, a dropdown per substance."""
    places = places_table()
    last = ts.loc[ts["week"] == ts["week"].max()]
    counts = {}
    for metric, level, label in ROLE_LABELS:
        counts[label] = (
            select(last, metric, level)
            .groupby(["place", "substance"], observed=True)["value"]
            .sum()
            .unstack("substance")
            .reindex(columns=list(SUBSTANCE_NAMES), fill_value=0)
        )
    order = counts["users"].sum(axis=1).sort_values(ascending=False).index
    x = places.loc[order, "short"].tolist()
    full = places.loc[order, "name"].tolist()
    options = ["all substances", *SUBSTANCE_NAMES]
    colours = ("#4c78a8", "#f58518", "#54a24b")
    fig = go.Figure()
    for k, opt in enumerate(options):
        for (_, _, label), colour in zip(ROLE_LABELS, colours, strict=True):
            tab = counts[label].reindex(order).fillna(0)
            y = tab.sum(axis=1) if opt == "all substances" else tab[opt]
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=y.to_numpy(),
                    name=label,
                    marker_color=colour,
                    visible=k == 0,
                    customdata=full,
                    hovertemplate=f"%{{customdata}}<br>{label}: %{{y:,.0f}}<extra>{opt}</extra>",
                )
            )
    fig.update_layout(
        template=TEMPLATE,
        height=HEIGHT,
        barmode="group",
        margin={"t": 70, "r": 20, "b": 90, "l": 60},
        updatemenus=substance_menu([3] * len(options), options),
        yaxis={"type": "log", "title": "persons (log scale)"},
        xaxis_tickangle=-35,
    )
    return fig


def seizures_figure(ts: pd.DataFrame) -> go.Figure:
    """kg seized in transit per crossing and staging post per calendar year, one bar per year, a dropdown per
    substance (runs made before the staging posts searched lots show the crossings only)."""
    places = places_table()
    staged = select(ts, "staging_seizures_g")
    geo = load_geography()
    posts = np.asarray(geo.codes)[staging_posts(geo)].tolist()
    df = pd.concat([select(ts, "seizures_g"), staged[staged["place"].isin(posts)]])
    df = df.assign(year=df["date"].dt.year)
    weeks_in_year = ts.drop_duplicates("week").assign(year=lambda d: d["date"].dt.year).groupby("year")["week"].count()
    g = df.groupby(["substance", "year", "place"], observed=True)["value"].sum().div(1e3)
    where = places.index[places["kind"] == "crossing"].tolist() + (posts if len(staged) else [])
    x = [places.at[c, "on_map" if c in posts else "short"] for c in where]  # a staging post by its city
    full = [f"{name}{' (staging post)' if code in posts else ''}" for code, name in places.loc[where, "name"].items()]
    years = sorted(weeks_in_year.index)
    shades = np.linspace(0.25, 1.0, len(years)) if len(years) > 1 else np.array([0.8])
    fig = go.Figure()
    for k, sub in enumerate(SUBSTANCE_NAMES):
        for year, shade in zip(years, shades, strict=True):
            label = _label_year(int(year), int(weeks_in_year[year]))
            y = g.reindex(pd.MultiIndex.from_product([[sub], [year], where])).fillna(0).to_numpy()
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=y.round(3),
                    name=label,
                    visible=k == 0,
                    customdata=full,
                    marker_color=f"rgba(178, 24, 43, {shade:.2f})",
                    hovertemplate=f"%{{customdata}}<br>{label}: %{{y:,.2f}} kg<extra>{sub}</extra>",
                )
            )
    notes = [None if g.get(sub, pd.Series(dtype=float)).sum() > 0 else
             f"Nothing of {sub} was seized in transit in these weeks." for sub in SUBSTANCE_NAMES]
    fig.update_layout(
        template=TEMPLATE,
        height=HEIGHT,
        barmode="group",
        margin={"t": 70, "r": 20, "b": 80, "l": 60},
        updatemenus=substance_menu([len(years)] * len(SUBSTANCE_NAMES), list(SUBSTANCE_NAMES), notes=notes),
        annotations=[empty_note(notes[0])] if notes[0] else [],
        yaxis={"title": "kg seized", "rangemode": "tozero"},
        legend_title="year",
        xaxis_tickangle=-25,
    )
    return fig


def purity_figure(ts: pd.DataFrame) -> go.Figure:
    """National stock-weighted purity per substance and level over time."""
    g = weighted_purity(ts)
    fig = go.Figure()
    for sub in SUBSTANCE_NAMES:
        for level, dash in zip(LEVELS, ("solid", "dot"), strict=True):
            part = g[(g["substance"] == sub) & (g["level"] == level)]
            fig.add_trace(
                go.Scatter(
                    x=part["date"],
                    y=part["purity"].round(4),
                    mode="lines",
                    name=f"{sub} {level}",
                    line={"color": SUBSTANCE_COLOURS[sub], "dash": dash, "width": 2},
                    hovertemplate=f"{sub} {level}<br>%{{x|%Y-%m-%d}}: %{{y:.1%}}<extra></extra>",
                )
            )
    fig.update_layout(
        template=TEMPLATE,
        height=HEIGHT,
        margin={"t": 30, "r": 20, "b": 40, "l": 60},
        yaxis={"title": "purity (stock-weighted national mean)", "tickformat": ".0%", "range": [0, 1.02]},
    )
    return fig


def region_values(ts: pd.DataFrame, metric: str, level: str, substance: str | None = None) -> pd.Series:
    """One number per region for shading the map: the metric's mean over the weeks, summed over substances
    unless one is named (use a substance for prices and fractions, which do not add up)."""
    df = select(ts, metric, level)
    if substance is not None:
        df = df[df["substance"] == substance]
    regions = places_table().query("kind == 'region'").index
    weekly = df.groupby(["place", "week"], observed=True)["value"].sum()
    return weekly.groupby(level="place", observed=True).mean().reindex(regions)


def _boundary_traces(fig: go.Figure, shade: pd.Series | None, shade_title: str, places: pd.DataFrame) -> None:
    """Neighbouring countries in grey, the 2012 regions filled plainly or shaded by `shade` (one value a region)."""
    from plotly.colors import sample_colorscale

    feats = load_boundaries()["features"]

    def xy(feature: dict) -> tuple[list, list]:
        xs: list = []
        ys: list = []
        for ring in rings(feature["geometry"]):
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
        return xs, ys

    for f in (f for f in feats if f["properties"]["kind"] == "neighbour"):
        xs, ys = xy(f)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor="#eceff3",
                                 line={"color": "#d5d9df", "width": 0.8}, hoveron="fills", hoverinfo="text",
                                 text=f["properties"]["name"], showlegend=False))
    lab = [f["properties"] for f in feats if f["properties"]["kind"] == "neighbour" and "label_lon" in f["properties"]]
    fig.add_trace(go.Scatter(x=[p["label_lon"] for p in lab], y=[p["label_lat"] for p in lab], mode="text",
                             text=[p["name"] for p in lab], textfont={"size": 11, "color": "#9aa1ab"},
                             hoverinfo="skip", showlegend=False))
    vals = shade.dropna() if shade is not None else pd.Series(dtype=float)
    lo, hi = (float(vals.min()), float(vals.max())) if len(vals) else (0.0, 1.0)
    # Cities last: Almaty and Astana are holes in their oblasts and must be drawn on top of them.
    regions = sorted((f for f in feats if f["properties"]["kind"] == "region"),
                     key=lambda f: f["properties"]["code"] in ("ALA", "AST"))
    for f in regions:
        code = f["properties"]["code"]
        name = places.loc[code, "name"] if code in places.index else code
        value = vals.get(code, np.nan)
        if np.isfinite(value):
            colour = sample_colorscale(MAP_SCALE, [(value - lo) / (hi - lo) if hi > lo else 0.5])[0]
            text = f"{name}<br>{shade_title}: {value:,.4g}"
        else:
            colour, text = "#faf7ee", f"{name}" + (f"<br>{shade_title}: no data" if shade is not None else "")
        xs, ys = xy(f)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour,
                                 line={"color": "#a8b0bb", "width": 0.8}, hoveron="fills", hoverinfo="text",
                                 text=text, showlegend=False))
    if len(vals):
        colorbar = {"title": {"text": shade_title, "side": "top"}, "orientation": "h", "x": 0.0, "xanchor": "left",
                    "y": -0.1, "yanchor": "top", "len": 0.45, "thickness": 12}
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker={"color": [lo, hi], "colorscale": MAP_SCALE, "cmin": lo, "cmax": hi,
                                         "showscale": True, "colorbar": colorbar}))


def map_figure(ts: pd.DataFrame, shade: pd.Series | None = None, shade_title: str = "") -> go.Figure:
    """Map on lon/lat axes: the 2012 regions (shipped polygons, optionally shaded by `shade`, one value per
    region code), places as labelled markers, routes as lines whose width is the run's flow."""
    geo = load_geography()
    places = places_table().reindex(list(geo.codes))
    flow = select(ts, "route_flow_g").groupby(["place", "substance"], observed=True)["value"].sum().div(1e3)
    by_route = flow.groupby(level="place", observed=True).sum().reindex(list(geo.route_names), fill_value=0)
    top = max(float(by_route.max()), 1e-9)
    lat0 = float(np.mean(geo.lat))
    fig = go.Figure()
    _boundary_traces(fig, shade, shade_title, places)
    # Routes that share legs are drawn side by side: each one is shifted a little across its direction.
    n_routes = len(geo.route_names)
    offsets = (np.arange(n_routes) - (n_routes - 1) / 2) * 0.09
    order = np.argsort(-by_route.to_numpy(), kind="stable")
    for r in order:
        name = geo.route_names[r]
        nodes = geo.route_nodes[r, : geo.route_len[r]]
        lon, lat = geo.lon[nodes].astype(float), geo.lat[nodes].astype(float)
        lon, lat = _shift_path(lon, lat, offsets[r], lat0)
        kg = float(by_route[name])
        detail = "<br>".join(
            f"{s}: {flow.get((name, s), 0.0):,.0f} kg" for s in SUBSTANCE_NAMES if flow.get((name, s), 0.0) > 0
        )
        path = " → ".join(geo.codes[i] for i in nodes)
        fig.add_trace(
            go.Scatter(
                x=lon,
                y=lat,
                mode="lines",
                name=f"{name} ({kg:,.0f} kg)",
                line={"color": PALETTE[r % len(PALETTE)], "width": 1 + 13 * kg / top},
                opacity=0.75,
                legendgroup="routes",
                legendgrouptitle_text="routes (flow over run)",
                hovertemplate=f"<b>{name}</b><br>{path}<br>{detail or 'no flow'}<extra></extra>",
            )
        )
    kinds = (
        ("region", places["kind"] == "region", "circle", "#4c78a8", 10),
        ("border crossing", places["kind"] == "crossing", "diamond", "#d62728", 9),
        ("source", places["zone"] == "source", "triangle-up", "#2ca02c", 12),
        ("Russian hub", places["country"] == "RU", "square", "#9467bd", 11),
    )
    for label, mask, symbol, colour, size in kinds:
        sel = places[mask.to_numpy()]
        fig.add_trace(
            go.Scatter(
                x=sel["lon"],
                y=sel["lat"],
                mode="markers+text",
                name=label,
                text=sel["on_map"],
                textposition=[MAP_TEXT.get(c, "top center") for c in sel.index],
                textfont={"size": 10, "color": "#333"},
                marker={"symbol": symbol, "color": colour, "size": size, "line": {"color": "white", "width": 1}},
                customdata=sel["name"],
                legendgroup="places",
                legendgrouptitle_text="places",
                hovertemplate="%{customdata}<br>%{y:.2f}°N %{x:.2f}°E<extra></extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        height=620,
        margin={"t": 30, "r": 20, "b": 40, "l": 50},
        plot_bgcolor="#f4f8fb",
        xaxis={"title": "longitude °E", "showgrid": False, "zeroline": False, "range": [BBOX[0], BBOX[2]],
               "constrain": "domain"},
        yaxis={
            "title": "latitude °N",
            "scaleanchor": "x",
            "scaleratio": 1 / np.cos(np.radians(lat0)),
            "showgrid": False,
            "zeroline": False,
            "range": [BBOX[1], BBOX[3]],
            "constrain": "domain",
        },
    )
    return fig


def _shift_path(lon: np.ndarray, lat: np.ndarray, offset: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Shift a polyline sideways by `offset` degrees (in a local frame where lon is scaled by cos(lat0))."""
    if offset == 0 or len(lon) < 2:
        return lon, lat
    k = np.cos(np.radians(lat0))
    x, y = lon * k, lat
    dx, dy = np.gradient(x), np.gradient(y)
    norm = np.hypot(dx, dy)
    norm[norm == 0] = 1.0
    return (x - dy / norm * offset) / k, y + dx / norm * offset
