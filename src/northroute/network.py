"""Yearly snapshots of the trade network, and their export to GraphML and GEXF (for Gephi).

A snapshot holds the people who trade (retail dealers, wholesalers, traffickers) and the ties
between them: who supplies whom, trade ties between traffickers and wholesalers, introductions,
vouching, prison ties and kin of the community. Users are not nodes (there are hundreds of
thousands); each retail dealer carries his number of customers as an attribute instead. A protected
wholesaler carries his protector's officer row; the exported graph makes each protector a node
(`officer-ROW`) tied to his clients, so the corruption that protects the trade shows in it too.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

import networkx as nx
import numpy as np
import pandas as pd
import typer

from northroute.world.officers import AGENCY_NAMES, RANK_NAMES
from northroute.world.people import (
    COMMUNITY,
    LEADER,
    RETAIL,
    ROLE_NAMES,
    SUBSTANCE_NAMES,
    TRAFFICKER,
    USER,
    VORY,
    WHOLESALE,
)
from northroute.world.state import WEEKS_PER_YEAR, World
from northroute.world.ties import TIE_KINDS, TRADE

EDGE_KINDS = ("supply", *TIE_KINDS, "kin")
NODES_FILE, EDGES_FILE = "network_nodes.parquet", "network.parquet"


def snapshot(world: World, year: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Nodes and edges of the trade network now, as column arrays."""
    p, ties = world.people, world.ties
    rd, wh, tr = p.rows(RETAIL), p.rows(WHOLESALE), p.rows(TRAFFICKER)
    nodes = np.concatenate([rd, wh, tr])
    users = p.rows(USER)
    customers = np.bincount(p.supplier[users][p.supplier[users] >= 0], minlength=len(p))
    team = np.bincount(p.supplier[rd][p.supplier[rd] >= 0], minlength=len(p))
    prot = p.protector[nodes]
    node_cols = {
        "year": np.full(nodes.size, year, np.int16),
        "person": nodes.astype(np.int32),
        "role": p.role[nodes],
        "region": p.region[nodes],
        "substance": p.substance[nodes],
        "community": (p.flags[nodes] & COMMUNITY) != 0,
        "vory": (p.flags[nodes] & VORY) != 0,
        "reputation": p.reputation[nodes],
        "exposure": p.exposure[nodes],
        "customers": customers[nodes].astype(np.int32),
        "team": team[nodes].astype(np.int32),
        "protected": prot >= 0,  # a wholesaler under police protection (7.11)
        "protector": prot.astype(np.int32),  # his protector's row of the officers table, or -1
        "protector_agency": np.where(prot >= 0, world.officers.agency[np.maximum(prot, 0)], -1).astype(np.int8),
        "protector_rank": np.where(prot >= 0, world.officers.rank[np.maximum(prot, 0)], -1).astype(np.int8),
        "leader": (p.flags[nodes] & LEADER) != 0,  # a retail dealer who leads runners of his own (7.3)
    }
    recent = (ties.kind != TRADE) | (ties.last >= world.t - WEEKS_PER_YEAR)  # the year's trade, not the tie memory
    in_net = np.zeros(len(p), bool)
    in_net[nodes] = True
    supplied = rd[p.supplier[rd] >= 0]
    supplied = supplied[in_net[p.supplier[supplied]]]  # a runner's leader arrested this week is no node any more
    keep = recent & in_net[ties.src] & in_net[ties.dst]
    kin_nodes = nodes[p.kin[nodes] >= 0]
    head = _first_of_group(p.kin[kin_nodes], kin_nodes)
    kin_src, kin_dst = head[head != kin_nodes], kin_nodes[head != kin_nodes]
    src = np.concatenate([p.supplier[supplied], ties.src[keep], kin_src])
    dst = np.concatenate([supplied, ties.dst[keep], kin_dst])
    kind = np.concatenate([np.zeros(supplied.size, np.int8), ties.kind[keep] + 1,
                           np.full(kin_src.size, EDGE_KINDS.index("kin"), np.int8)])
    weight = np.concatenate([np.ones(supplied.size), ties.uses[keep], np.ones(kin_src.size)])
    edge_cols = {"year": np.full(src.size, year, np.int16), "src": src.astype(np.int32),
                 "dst": dst.astype(np.int32), "kind": kind, "weight": weight.astype(np.float32)}
    return node_cols, edge_cols


def _first_of_group(groups: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row, the first row (lowest index) of its group: kin ties drawn as stars."""
    if rows.size == 0:
        return rows.copy()
    order = np.lexsort((rows, groups))
    g, r = groups[order], rows[order]
    starts = np.r_[True, g[1:] != g[:-1]]
    first = r[starts][np.cumsum(starts) - 1]
    out = np.empty_like(rows)
    out[order] = first
    return out


def frames(node_chunks: list[dict], edge_chunks: list[dict], codes: tuple[str, ...]) -> tuple[pd.DataFrame,
                                                                                                pd.DataFrame]:
    """All snapshots as two tables with readable categories."""
    def cat(chunks: list[dict]) -> dict[str, np.ndarray]:
        keys = chunks[0].keys() if chunks else []
        return {k: np.concatenate([c[k] for c in chunks]) for k in keys}

    n, e = cat(node_chunks), cat(edge_chunks)
    if not n:
        return pd.DataFrame(), pd.DataFrame()
    nodes = pd.DataFrame(n)
    nodes["role"] = pd.Categorical.from_codes(nodes["role"], ROLE_NAMES)
    nodes["region"] = pd.Categorical.from_codes(nodes["region"], list(codes))
    nodes["substance"] = pd.Categorical.from_codes(nodes["substance"], list(SUBSTANCE_NAMES))
    if "protector_agency" in nodes:  # -1 (no protector) reads as missing
        nodes["protector_agency"] = pd.Categorical.from_codes(nodes["protector_agency"], list(AGENCY_NAMES))
        nodes["protector_rank"] = pd.Categorical.from_codes(nodes["protector_rank"], list(RANK_NAMES))
    edges = pd.DataFrame(e)
    edges["kind"] = pd.Categorical.from_codes(edges["kind"], list(EDGE_KINDS))
    return nodes, edges


def graph(nodes: pd.DataFrame, edges: pd.DataFrame, year: int) -> nx.MultiDiGraph:
    """One year's snapshot as a networkx graph with node and edge attributes.

    A multigraph: two people can be tied in several ways at once (a supplier who is also kin), and each tie is
    an edge of its own, as in network.parquet. Keys number the edges, so the ids in GEXF and GraphML are unique.
    Each protector is a node `officer-ROW` (role `officer`, his client's region, his agency and rank) with a
    `protection` edge to each client (snapshots made before the `protector` column existed have none, and those
    made before session 37 no agency or rank)."""
    g = nx.MultiDiGraph(year=int(year))
    year_nodes = nodes[nodes["year"] == year]
    for row in year_nodes.itertuples(index=False):
        g.add_node(int(row.person), role=str(row.role), region=str(row.region), substance=str(row.substance),
                   community=bool(row.community), vory=bool(row.vory), reputation=float(row.reputation),
                   exposure=float(row.exposure), customers=int(row.customers), team=int(row.team),
                   protected=bool(getattr(row, "protected", False)), leader=bool(getattr(row, "leader", False)))
    year_edges = edges[edges["year"] == year]
    for key, row in enumerate(year_edges.itertuples(index=False)):
        g.add_edge(int(row.src), int(row.dst), key=key, kind=str(row.kind), weight=float(row.weight))
    for key, row in enumerate(_clients(year_nodes).itertuples(index=False), start=len(year_edges)):
        officer = f"officer-{int(row.protector)}"
        post = {k: str(getattr(row, f"protector_{k}")) for k in ("agency", "rank") if hasattr(row, f"protector_{k}")}
        g.add_node(officer, role="officer", region=str(row.region), **post)
        g.add_edge(officer, int(row.person), key=key, kind="protection", weight=1.0)
    return g


def year_tables(nodes: pd.DataFrame, edges: pd.DataFrame, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One snapshot in two small tables: the people by role (how many, protected, leading runners, mean team and
    customers) and the ties by kind (how many, and protectors' ties to their clients)."""
    n, e = nodes[nodes["year"] == year], edges[edges["year"] == year]
    columns = {"people": ("person", "size"), "protected": ("protected", "sum"), "leaders": ("leader", "sum"),
               "mean_team": ("team", "mean"), "mean_customers": ("customers", "mean")}
    people = n.groupby("role", observed=True).agg(**{k: v for k, v in columns.items() if v[0] in n}).reset_index()
    ties = e.groupby("kind", observed=True).size().rename("ties").reset_index()
    if "protector" in n:  # snapshots made before session 36 do not say who protects whom
        ties = pd.concat([ties, pd.DataFrame({"kind": ["protection (officer to client)"],
                                              "ties": [len(_clients(n))]})], ignore_index=True)
    return people, ties


def _clients(nodes: pd.DataFrame) -> pd.DataFrame:
    """The protected wholesalers of a snapshot whose protector is known (none in snapshots made before it was)."""
    return nodes[nodes["protector"] >= 0] if "protector" in nodes else nodes.iloc[:0]


def gexf(nodes: pd.DataFrame, edges: pd.DataFrame, year: int) -> bytes:
    """One year's graph (`graph`) as GEXF, for Gephi."""
    buffer = io.BytesIO()
    nx.write_gexf(graph(nodes, edges, year), buffer)
    return buffer.getvalue()


def register(app: typer.Typer) -> None:
    @app.command()
    def network(
        run_dir: Annotated[Path, typer.Argument(help="A run folder written by `northroute run`.")],
        year: Annotated[int, typer.Option(help="Which yearly snapshot.")],
        format: Annotated[str, typer.Option("--format", help="gexf or graphml.")] = "gexf",
        out: Annotated[Path | None, typer.Option(help="Output file, ending in .FORMAT (default: "
                                                      "RUN_DIR/network-YEAR.FORMAT).")] = None,
    ) -> None:
        """Export one year's trade network for Gephi and other network tools."""
        from northroute.cli import _fail, check_out_suffix
        from northroute.cli import out as console
        from northroute.results import RunFileError, read_run_file

        if format not in ("gexf", "graphml"):
            _fail(f"--format must be gexf or graphml, got '{format}'")
        check_out_suffix(out, f".{format}")
        if not (run_dir / EDGES_FILE).is_file() or not (run_dir / NODES_FILE).is_file():
            _fail(f"no network snapshots in {run_dir} (expected {EDGES_FILE} and {NODES_FILE})")
        try:
            nodes, edges = read_run_file(run_dir / NODES_FILE), read_run_file(run_dir / EDGES_FILE)
        except RunFileError as exc:
            _fail(f"cannot read the network of {run_dir}: {exc}")
        years = sorted(int(y) for y in nodes["year"].unique())
        if year not in years:
            _fail(f"no snapshot for {year} in {run_dir} (years: {', '.join(map(str, years))})")
        target = out or run_dir / f"network-{year}.{format}"
        g = graph(nodes, edges, year)
        try:
            (nx.write_gexf if format == "gexf" else nx.write_graphml)(g, target)
        except OSError as exc:
            _fail(f"cannot write {target}: {exc.strerror or exc}")
        console.print(f"{g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges -> {target}")
