"""northroute: an evidence-based agent-based simulator of the drug trade on Kazakhstan's Northern Route.

    import northroute as nr
    res = nr.run(nr.load_scenario("baseline-2012"), seed=1)
    res.timeseries  # pandas DataFrame: week, date, place, substance, level, metric, world, value
"""

from __future__ import annotations

__version__ = "0.1.0"

from northroute.results import Results
from northroute.scenario import Scenario, ScenarioError, load_scenario


def run(scenario: Scenario | str = "baseline-2012", seed: int = 0, progress=None) -> Results:
    """Run one scenario with one seed and return its results (nothing is written to disk)."""
    from northroute.network import frames as network_frames
    from northroute.results import build_manifest, events_frame
    from northroute.sim import simulate

    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    world, recorder, stats = simulate(scenario, seed, progress)
    manifest = build_manifest(world, scenario, seed, stats)
    log, geo, start = world.events, world.geo, world.scenario.time.start
    del world  # free the agent tables before the output tables are built: lowers peak memory
    nodes, edges = network_frames(recorder.network_nodes, recorder.network_edges, geo.codes)
    return Results(recorder.to_frame(), events_frame(log, geo, start), manifest, network=edges, network_nodes=nodes)


__all__ = ["Results", "Scenario", "ScenarioError", "load_scenario", "run", "__version__"]
