"""The data order of a training run: which row of which source fills each slot of each global batch.

    from dsmath_lib.train.mixture import Mixture
    mix = Mixture(sizes=[rows_math, rows_code], weights=[0.6, 0.4], batch_size=64, steps=500, seed=0)
    mix.batch(step)          # (source, row) int64 arrays of batch_size: the global batch of optimiser step `step`

A token mixture (paper §3: e.g. 56% math corpus, 20% code, ...) is a share of training sequences per
source. Over the whole run source i fills exactly its share of the steps * batch_size slots (largest
remainders), and the slots are interleaved by a permutation drawn from the seed. Inside a source, rows
are read in a shuffled order that is redrawn every epoch, so a source shorter than its share repeats,
each time in a new order. Everything is a function of (seed, step): a resumed run, or a run over any
number of processes, sees exactly the same global batches.

Memory: one byte per training sequence for the interleave (a 500B-token run at 4K context: 120 MB) and
one row permutation per source and epoch, cached.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def apportion(total: int, weights: Sequence[float]) -> np.ndarray:
    """Split `total` into integer counts proportional to `weights` (largest remainders; sums to total).

    >>> apportion(10, [0.56, 0.2, 0.24]).tolist()
    [6, 2, 2]
    >>> apportion(7, [1, 1]).tolist()
    [4, 3]
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"mixture weights must be non-negative with a positive sum, got {list(weights)}")
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    by_remainder = np.argsort(-(exact - counts), kind="stable")  # ties go to the earlier source
    counts[by_remainder[: total - counts.sum()]] += 1
    return counts


class Mixture:
    """Deterministic global batches over several sources of `sizes` rows, mixed by `weights`."""

    def __init__(self, sizes: Sequence[int], weights: Sequence[float], batch_size: int, steps: int, seed: int):
        if len(sizes) != len(weights):
            raise ValueError(f"mixture: {len(sizes)} data sources but {len(weights)} weights")
        if len(sizes) > 255:
            raise ValueError(f"mixture: at most 255 sources, got {len(sizes)}")
        self.sizes = [int(s) for s in sizes]
        self.batch_size, self.steps, self.seed = batch_size, steps, seed
        self.counts = apportion(batch_size * steps, weights)  # sequences per source over the whole run
        for i, (size, count) in enumerate(zip(self.sizes, self.counts)):
            if count and size < 1:
                raise ValueError(f"mixture: source {i} has no rows but a share of {count} sequences")
        slots = np.repeat(np.arange(len(sizes), dtype=np.uint8), self.counts)
        self.slots = np.random.default_rng([seed, 0]).permutation(slots)  # (steps * batch_size,) source per slot
        # drawn[s, i]: rows of source i used before step s, so step s knows where each source's stream is
        n = len(sizes)
        step_of_slot = np.arange(len(self.slots), dtype=np.int64) // batch_size
        per_step = np.bincount(step_of_slot * n + self.slots, minlength=steps * n).reshape(steps, n)
        self.drawn = np.vstack([np.zeros((1, len(sizes)), np.int64), np.cumsum(per_step, axis=0)])
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(source, row) of the batch_size sequences of optimiser step `step`, each (batch_size,) int64."""
        if not 0 <= step < self.steps:
            raise IndexError(f"mixture: step {step} outside 0..{self.steps - 1}")
        source = self.slots[step * self.batch_size:(step + 1) * self.batch_size].astype(np.int64)
        rows = np.empty(self.batch_size, dtype=np.int64)
        for i in np.unique(source):
            where = np.flatnonzero(source == i)
            k = self.drawn[step, i] + np.arange(len(where))  # positions in source i's endless stream
            rows[where] = self._rows(int(i), k)
        return source, rows

    def _rows(self, source: int, k: np.ndarray) -> np.ndarray:
        size = self.sizes[source]
        epochs, within = np.divmod(k, size)
        out = np.empty_like(k)
        for epoch in np.unique(epochs):
            sel = epochs == epoch
            out[sel] = self._perm(source, int(epoch))[within[sel]]
        return out

    def _perm(self, source: int, epoch: int) -> np.ndarray:
        key = (source, epoch)
        if key not in self._perms:
            if len(self._perms) > 2 * len(self.sizes):  # a step touches at most two epochs per source
                self._perms.clear()
            self._perms[key] = np.random.default_rng([self.seed, 1, source, epoch]).permutation(self.sizes[source])
        return self._perms[key]
