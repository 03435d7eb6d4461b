"""The array helpers that keep counts unbiased at any scale (session 39, ODD limitation 4)."""

from __future__ import annotations

import numpy as np
import pytest

from northroute.world.arrays import apportion, scatter_add, stochastic_round


def test_stochastic_round_is_unbiased_and_stays_next_to_its_value() -> None:
    rng = np.random.default_rng(0)
    x = np.array([0.0, 0.3, 1.5, 2.9, 7.0, -0.4])
    draws = np.stack([stochastic_round(x, rng) for _ in range(20_000)])
    assert draws.dtype == np.int64
    assert ((draws == np.floor(x)) | (draws == np.floor(x) + 1)).all()
    assert draws.mean(axis=0) == pytest.approx(x, abs=0.02)  # ceil or round would miss 0.3 and 2.9 by 0.1-0.7
    assert (draws[:, [0, 4]] == [0, 7]).all()  # whole numbers are kept


def test_apportion_keeps_the_total_and_the_minimum() -> None:
    weights = np.array([5.0, 1.0, 1.0, 1.0, 0.2])
    out = apportion(30, weights)
    assert out.sum() == 30 and out.tolist() == [18, 4, 4, 3, 1]  # quotas 18.29, 3.66 x3, 0.73: largest remainders
    assert np.round(30 * weights / weights.sum()).sum() == 31  # rounding each share alone misses the total
    assert apportion(2, weights).tolist() == [1, 1, 1, 1, 1]  # at least one each, even above the total


@pytest.mark.parametrize("values", [2.5, np.float32(2.5), np.array([2.5]), np.array(2.5), np.arange(5.0)])
def test_scatter_add_sums_repeated_indices_for_any_form_of_values(values) -> None:
    index = np.array([3, 1, 3, 0, 3])
    target, expected = np.zeros(6), np.zeros(6)
    scatter_add(target, index, values)
    np.add.at(expected, index, np.broadcast_to(values, index.shape))
    assert np.array_equal(target, expected)
    grid = np.zeros((2, 3))
    scatter_add(grid, (np.array([1, 1, 0]), np.array([2, 2, 0])), 1.0)
    assert grid.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]
    with pytest.raises(ValueError):
        scatter_add(target, index, np.arange(3.0))  # neither one value nor one per index
