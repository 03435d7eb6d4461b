"""The report page "what is evidence and what is assumption" (issue #6).

Every parameter's provenance says where its value comes from; those whose provenance begins with
"assumption" have no source. This page counts them, and shows from the shipped Morris screening
(`calibration/screening.csv`) which study outputs move most with assumption-only parameters, relative to
the output's size, so a reader knows which results lean on guesses.
"""

from __future__ import annotations

import html
from importlib import resources

import pandas as pd

from northroute.scenario import param_table

SCREENING_TRAJECTORIES = 24  # Morris trajectories of the shipped screening (--n 24; docs/studies.md)


def provenance_kinds() -> pd.Series:
    """Parameters by kind of provenance (`scenario.provenance_kind`), most common first."""
    return pd.Series([r["kind"] for r in param_table()]).value_counts()


def screening() -> pd.DataFrame:
    with resources.files("northroute").joinpath("calibration/screening.csv").open() as fh:
        return pd.read_csv(fh)


def dependence() -> pd.DataFrame:
    """Per screened output: relative Morris effect (mu* / mean output) of each assumption parameter, largest first."""
    s = screening()
    s = s.assign(relative=s["mu_star"] / s["output_mean"].abs())
    return s.sort_values(["output", "relative"], ascending=[True, False])


def parts() -> list[str]:
    kinds = provenance_kinds()
    dep = dependence()
    n_params = dep["parameter"].nunique()
    rows = []
    for output, g in dep.groupby("output", sort=False):
        top = g.head(3)
        cells = "; ".join(f"<code>{html.escape(r.parameter)}</code> {r.relative:.0%}" for r in top.itertuples())
        rows.append((g["relative"].sum(), f"<tr><td><code>{html.escape(output)}</code></td>"
                     f"<td>{g['relative'].sum():.0%}</td><td>{cells}</td></tr>"))
    rows.sort(key=lambda r: -r[0])
    total = int(kinds.sum())
    counts = ", ".join(f"{int(n)} {html.escape(k)}" for k, n in kinds.items())
    return [
        "<h2>What is evidence and what is assumption</h2>\n<p class='note'>Of the model's "
        f"{total} parameters: {counts} (provenance as listed by <code>northroute params</code>). Below, how much "
        "each screened output moves with the screened parameters (those whose value is an assumption, outright "
        "or for a sourced rule): the Morris effect mu* (the mean absolute elementary effect: the change of the "
        "output per whole screened range of the parameter, as SALib scales each range to [0, 1]) divided by the "
        f"output's mean, summed over the {n_params} parameters screened and for the three largest (a sum of "
        "100%: moving each parameter across its whole range moves the output, on average, by amounts that add "
        "up to its mean). From the screening shipped "
        f"with the package (anticorruption-2015, scale 0.05, 2012-2017, {SCREENING_TRAJECTORIES} Morris "
        f"trajectories, {SCREENING_TRAJECTORIES * (n_params + 1)} runs; ranges and their reasons in "
        "<code>calibration/screening_ranges.toml</code>), not from this run; outputs and parameters not screened "
        "are not covered, and with so few trajectories the order of effects of similar size is rough.</p>",
        "<table><thead><tr><th>output</th><th>sum of relative mu*</th>"
        "<th>largest effects of screened parameters</th></tr>"
        f"</thead><tbody>{''.join(r for _, r in rows)}</tbody></table>",
    ]
