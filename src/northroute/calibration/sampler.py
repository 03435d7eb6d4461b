"""A pyabc sampler whose result depends on the seed only, not on the number of workers.

pyabc's parallel samplers reseed every task from the operating system and keep whichever particles
finish first, so two calibrations with the same seed differ (two measured runs of the default calibration
gave 423 and 382 runs and different posteriors). Here each particle of a generation has a seed drawn
from numpy's seeded global generator, its proposals are tasks run from that seed's generators, and results
are kept in particle order, so the same seed gives the same calibration with one worker or many.
"""

from __future__ import annotations

import functools
import random
import warnings

import numpy as np
import pyabc

# When a generation's particles nearly agree on a parameter, the weighted covariance pyabc proposes from can
# come out non-positive-semidefinite by rounding (a vanishing negative eigenvalue); numpy warns and draws from
# its SVD, i.e. with a vanishing variance in that direction, which is what was meant. The warning is noise.
NOT_PSD = "covariance is not symmetric positive-semidefinite"


class SeededMappingSampler(pyabc.sampler.MappingSampler):
    """Also keeps every particle tried, accepted or not, in `tried` (generation, parameters, distance,
    accepted): pyabc's history keeps the accepted ones only, and the rejected ones are runs too.

    A generation runs in rounds: each particle not yet accepted gets one more proposal from where its own
    generators stopped, so a particle sees the same proposals as in one uninterrupted loop from its seed. With
    `max_tried`, a round is not started when it could take the particles tried past that budget; the generation
    is then given up (pyabc stops with the generations before it), and the budget is never passed. Where a
    generation stops depends on the seed only, unlike a wall-clock limit, which would depend on the machine."""

    def __init__(self, *args, max_tried: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tried: list[dict] = []
        self.max_tried = max_tried
        self.out_of_budget = False

    def try_one(self, simulate_one, state: int | tuple) -> tuple[pyabc.Particle, dict, tuple]:
        """One proposal of one particle, from a seed (its first) or its generators' state after the last; returns
        the particle, its row for `tried` and the state to go on from. The global generators are restored
        afterwards, so a task run in the main process (one worker) leaves the sampler's own draws as they
        would be with several workers."""
        simulate_one = self.unpickle(simulate_one)
        saved = np.random.get_state(), random.getstate()  # noqa: NPY002
        if isinstance(state, int):
            np.random.seed(state)  # noqa: NPY002  pyabc proposes from numpy's global generator
            random.seed(state)
        else:
            np.random.set_state(state[0])  # noqa: NPY002
            random.setstate(state[1])
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", NOT_PSD, RuntimeWarning)
                particle = simulate_one()
            # the model's own distance: pyabc leaves the particle's at infinity in the sample from the prior that
            # sets the first epsilon (generation -1)
            distance = particle.sum_stat.get("distance", particle.distance)
            row = {**dict(particle.parameter), "distance": float(distance), "accepted": bool(particle.accepted)}
            return particle, row, (np.random.get_state(), random.getstate())  # noqa: NPY002
        finally:
            np.random.set_state(saved[0])  # noqa: NPY002
            random.setstate(saved[1])

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        seeds = np.random.randint(0, 2**31 - 1, n).tolist()  # noqa: NPY002
        waiting: dict[int, int | tuple] = dict(enumerate(seeds))  # particle -> its generators' state
        particles: list[list] = [[] for _ in range(n)]
        rows: list[list[dict]] = [[] for _ in range(n)]
        left = np.inf if self.max_tried is None else self.max_tried - len(self.tried)
        task = functools.partial(self.try_one, self.pickle(simulate_one))
        used = 0
        while waiting:
            if used + len(waiting) > left:
                self.out_of_budget = True
                break
            slots = list(waiting)
            for i, (particle, row, state) in zip(slots, self.map_(task, [waiting[i] for i in slots]), strict=True):
                particles[i].append(particle)
                rows[i].append({"generation": t, **row})
                if particle.accepted:
                    del waiting[i]
                else:
                    waiting[i] = state
            used += len(slots)
        self.nr_evaluations_ = used
        sample = self._create_empty_sample()
        for i in range(n):
            for particle in particles[i]:
                sample.append(particle)
            self.tried += rows[i]
        sample.ok = not waiting
        return sample
