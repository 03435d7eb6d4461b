"""Engine benchmark: agent-steps per second and peak memory per agent row.

Each scale runs in a fresh subprocess so that peak memory (the process's maximum resident set)
belongs to that run alone. Memory per row = (peak RSS - RSS after imports and kernel loading) /
rows in the people table at the end (every row ever allocated, including people who left).
An agent-step is one active person simulated for one week.

    python benchmarks/bench_engine.py                 # scales 0.1 and 1, the 8-year default run
    python benchmarks/bench_engine.py --scales 0.1 --years 2 --json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_STEPS_PER_S = 5e6  # issue #2: national 8-year default run, one process, this 2-core machine
TARGET_BYTES_PER_ROW = 300


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def child(scale: float, years: float, seed: int) -> dict:
    import northroute as nr

    nr.run(nr.load_scenario("baseline-2012", ["population.scale=0.002", "time.years=0.05"]), seed=0)
    baseline = _rss_bytes()
    scen = nr.load_scenario("baseline-2012", [f"population.scale={scale}", f"time.years={years}"])
    t0 = time.perf_counter()
    res = nr.run(scen, seed=seed)
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    m = res.manifest
    rows = m["rows_by_kind"]["people_total"]
    return {
        "scale": scale,
        "years": years,
        "weeks_simulated": m["weeks_simulated"],
        "agent_rows": rows,
        "mean_active_agents": m["agent_steps"] / m["weeks_simulated"],
        "agent_steps": m["agent_steps"],
        "simulate_s": m["wall_time_s"],
        "run_with_outputs_s": total,
        "agent_steps_per_s": m["agent_steps"] / m["wall_time_s"],
        "peak_rss_mb": peak / 2**20,
        "baseline_rss_mb": baseline / 2**20,
        "bytes_per_row": (peak - baseline) / rows,
        "module_time_s": m["module_time_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0])
    ap.add_argument("--years", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON line per scale")
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.years, args.seed)))
        return
    for scale in args.scales:
        proc = subprocess.run([sys.executable, __file__, "--child", str(scale), "--years", str(args.years),
                               "--seed", str(args.seed)], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if args.json:
            print(json.dumps(r))
            continue
        ok_speed = "meets" if r["agent_steps_per_s"] >= TARGET_STEPS_PER_S else "misses"
        ok_mem = "meets" if r["bytes_per_row"] <= TARGET_BYTES_PER_ROW else "misses"
        print(f"scale {scale}: {r['weeks_simulated']} weeks, {r['mean_active_agents']:,.0f} active agents "
              f"(rows {r['agent_rows']:,}), {r['simulate_s']:.1f} s -> {r['agent_steps_per_s'] / 1e6:.2f} M "
              f"agent-steps/s ({ok_speed} 5 M); peak {r['peak_rss_mb']:.0f} MB, "
              f"{r['bytes_per_row']:.0f} bytes/row ({ok_mem} {TARGET_BYTES_PER_ROW})")
        print("   module seconds:", r["module_time_s"])


if __name__ == "__main__":
    main()
