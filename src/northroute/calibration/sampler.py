"""A pyabc sampler whose result depends on the seed only, not on the number of workers.

pyabc's parallel samplers reseed every task from the operating system and keep whichever particles
finish first, so two calibrations with the same seed differ (two measured runs of the default calibration
gave 423 and 382 runs and different posteriors). Here each particle of a generation is one task with a
seed drawn from numpy's seeded global generator, and results are kept in task order, so the same seed
gives the same calibration with one worker or many.
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
    accepted): pyabc's history keeps the accepted ones only, and the rejected ones are runs too."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tried: list[dict] = []

    def map_function(self, simulate_one, seed: int):
        """One particle: propose and simulate from its own seed until one is accepted. The global
        generators are restored afterwards, so a task run in the main process (one worker) leaves the
        sampler's own draws as they would be with several workers."""
        simulate_one = self.unpickle(simulate_one)
        saved = np.random.get_state(), random.getstate()  # noqa: NPY002
        np.random.seed(seed)  # noqa: NPY002  pyabc proposes from numpy's global generator
        random.seed(seed)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", NOT_PSD, RuntimeWarning)
                sample = self._create_empty_sample()
                tried = []
                while True:
                    particle = simulate_one()
                    # the model's own distance: pyabc leaves the particle's at infinity in the sample from the
                    # prior that sets the first epsilon (generation -1)
                    distance = particle.sum_stat.get("distance", particle.distance)
                    tried.append({**dict(particle.parameter), "distance": float(distance),
                                  "accepted": bool(particle.accepted)})
                    sample.append(particle)
                    if particle.accepted:
                        return sample, tried
        finally:
            np.random.set_state(saved[0])  # noqa: NPY002
            random.setstate(saved[1])

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        seeds = np.random.randint(0, 2**31 - 1, n).tolist()  # noqa: NPY002
        results = list(self.map_(functools.partial(self.map_function, self.pickle(simulate_one)), seeds))
        self.nr_evaluations_ = sum(len(tried) for _, tried in results)
        sample = self._create_empty_sample()
        for part, tried in results:
            sample += part
            self.tried += [{"generation": t, **row} for row in tried]
        return sample
