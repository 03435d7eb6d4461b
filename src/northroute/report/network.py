"""Report figures for the social organisation of the trade: one enterprise and the size distribution."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go

ROLE_STYLE = {  # colour, marker size base
    "trafficker": ("#b2182b", 16),
    "wholesale": ("#ef8a62", 13),
    "retail": ("#67a9cf", 9),
}
KIND_STYLE = {"supply": "#999999", "trade": "#b2182b", "intro": "#1b7837", "vouch": "#762a83", "kin": "#e08214",
              "prison": "#000000"}


def largest_enterprise(nodes: pd.DataFrame, edges: pd.DataFrame) -> tuple[int, int, nx.Graph]:
    """The last snapshot's wholesaler with the largest retail team, with everyone tied to him."""
    year = int(nodes["year"].max())
    n = nodes[nodes["year"] == year].set_index("person")
    e = edges[edges["year"] == year]
    boss = int(n[n["role"] == "wholesale"]["team"].idxmax())
    near = e[(e["src"] == boss) | (e["dst"] == boss)]
    g = nx.Graph()
    for row in near.itertuples(index=False):
        g.add_edge(int(row.src), int(row.dst), kind=str(row.kind))
    for person in g.nodes:
        if person in n.index:
            g.nodes[person].update(role=str(n.at[person, "role"]), customers=int(n.at[person, "customers"]))
    return year, boss, g


def enterprise_figure(nodes: pd.DataFrame, edges: pd.DataFrame) -> go.Figure | None:
    """One enterprise as a network: the wholesaler, his retail team, his sellers and introducer."""
    if nodes.empty or not (nodes["role"] == "wholesale").any():
        return None
    year, boss, g = largest_enterprise(nodes, edges)
    pos = nx.spring_layout(g, seed=1)
    fig = go.Figure()
    for kind, colour in KIND_STYLE.items():
        xs, ys = [], []
        for a, b, d in g.edges(data=True):
            if d["kind"] == kind:
                xs += [pos[a][0], pos[b][0], None]
                ys += [pos[a][1], pos[b][1], None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": colour, "width": 1.5}, name=kind,
                                     hoverinfo="skip"))
    for role, (colour, size) in ROLE_STYLE.items():
        people = [p for p, d in g.nodes(data=True) if d.get("role") == role]
        if not people:
            continue
        customers = np.array([g.nodes[p].get("customers", 0) for p in people])
        fig.add_trace(go.Scatter(
            x=[pos[p][0] for p in people], y=[pos[p][1] for p in people], mode="markers", name=role,
            marker={"color": colour, "size": size + np.sqrt(customers), "line": {"width": 1, "color": "white"}},
            text=[f"person {p}, {role}, {c} customers" for p, c in zip(people, customers, strict=True)],
            hoverinfo="text"))
    fig.add_trace(go.Scatter(x=[pos[boss][0]], y=[pos[boss][1]], mode="markers+text", name="the wholesaler",
                             marker={"color": ROLE_STYLE["wholesale"][0], "size": 26, "symbol": "star"},
                             text=["wholesaler"], textposition="top center", hoverinfo="skip"))
    fig.update_layout(title=f"The largest enterprise at the end of {year}", height=480, template="plotly_white",
                      xaxis={"visible": False}, yaxis={"visible": False}, legend_title="role / tie")
    return fig


def size_figure(nodes: pd.DataFrame) -> go.Figure | None:
    """Distribution of retail team sizes and of customers per retail dealer in the last snapshot."""
    if nodes.empty:
        return None
    last = nodes[nodes["year"] == nodes["year"].max()]
    fig = go.Figure()
    teams = last[last["role"] == "wholesale"]["team"]
    fig.add_trace(go.Histogram(x=teams, name="retail dealers per wholesaler", xbins={"size": 1},
                               marker_color="#ef8a62"))
    customers = last[last["role"] == "retail"]["customers"]
    fig.add_trace(go.Histogram(x=customers, name="customers per retail dealer", xbins={"size": 1},
                               marker_color="#67a9cf", opacity=0.7, visible="legendonly"))
    fig.update_layout(title="Enterprise sizes (thesis: 6-8 retail dealers per wholesaler, L1022 [P23])",
                      barmode="overlay", height=400, template="plotly_white", xaxis_title="persons",
                      yaxis_title="count")
    return fig
