"""``plotting.band`` draws mean ± the sample standard deviation (ddof = 1), the same ± as every
table row on the verdict page (issue 19: one ddof everywhere; before, the band used ddof = 0)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rmtheory.plotting import band  # noqa: E402


def _band_edges(ax):
    (poly,) = ax.collections
    ys = poly.get_paths()[0].vertices[:, 1]
    return ys.min(), ys.max()


def test_band_is_mean_plus_minus_the_sample_std():
    runs = np.array([[1.0, 1.0], [3.0, 3.0], [8.0, 8.0]])  # mean 4, sample std sqrt(13)
    fig, ax = plt.subplots()
    band(ax, [0, 1], runs, "x")
    lo, hi = _band_edges(ax)
    assert np.isclose(hi - 4, np.sqrt(13)) and np.isclose(4 - lo, np.sqrt(13))
    assert not np.isclose(hi - 4, np.std(runs[:, 0]))  # the population std is another number
    plt.close(fig)


def test_one_seed_draws_the_line_without_a_band():
    fig, ax = plt.subplots()
    band(ax, [0, 1, 2], [[1.0, 2.0, 3.0]], "x")
    lo, hi = _band_edges(ax)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1, 2, 3])
    assert lo == 1.0 and hi == 3.0  # the band collapses onto the line
    plt.close(fig)
