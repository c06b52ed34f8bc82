"""The learning-rate schedule of paper §2 (docs/PAPER.md §2): linear warm-up, then multi-step decay.

    from dsmath_lib.train.schedule import multistep_lr, lr_scheduler
    multistep_lr(step, total_steps=1000, warmup_steps=2000, decay_at=[0.8, 0.9], decay_to=[0.316, 0.1])
    scheduler = lr_scheduler(optimizer, total_steps, warmup_steps, decay_at, decay_to)   # torch LambdaLR

The multiplier of the peak LR at optimiser step `step` (0-based): warm-up to 1 over `warmup_steps`, then
`decay_to[j]` of the peak once `decay_at[j]` of training has passed (the paper: 31.6% at 80%, 10% at 90%).
A constant schedule (SFT, paper §3) is `decay_at=[]` with no warm-up.

Departure at small scale: the paper's 2,000 warm-up steps exceed a whole smoke or tiny run, so the
warm-up is clipped to the total number of steps (the peak is then reached at the last step); the decay
points still apply during a warm-up that runs into them (the multipliers multiply).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def multistep_lr(step: int, total_steps: int, warmup_steps: int, decay_at: Sequence[float],
                 decay_to: Sequence[float]) -> float:
    """The LR multiplier (share of the peak) for optimiser step `step` of `total_steps`.

    >>> paper = dict(total_steps=10_000, warmup_steps=2000, decay_at=[0.8, 0.9], decay_to=[0.316, 0.1])
    >>> multistep_lr(0, **paper), multistep_lr(999, **paper), multistep_lr(1999, **paper)
    (0.0005, 0.5, 1.0)
    >>> multistep_lr(7999, **paper), multistep_lr(8000, **paper), multistep_lr(9000, **paper)
    (1.0, 0.316, 0.1)
    >>> multistep_lr(3, total_steps=8, warmup_steps=2000, decay_at=[], decay_to=[])  # warm-up clipped to 8
    0.5
    >>> multistep_lr(5, total_steps=8, warmup_steps=0, decay_at=[], decay_to=[])  # constant (SFT)
    1.0
    """
    check_schedule(total_steps, warmup_steps, decay_at, decay_to)
    warmup = min(warmup_steps, total_steps)
    # (step + 1): the first update already moves the weights; the peak is reached at step warmup - 1
    factor = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    decay = 1.0
    for point, share in zip(decay_at, decay_to):  # decay_at is increasing: the last point passed wins
        if step >= point * total_steps:
            decay = share
    return factor * decay


def check_schedule(total_steps: int, warmup_steps: int, decay_at: Sequence[float], decay_to: Sequence[float]) -> None:
    """Raise ValueError for a schedule that cannot be meant: the message names the offending value."""
    if total_steps < 1:
        raise ValueError(f"schedule: total_steps must be >= 1, got {total_steps}")
    if warmup_steps < 0:
        raise ValueError(f"schedule: warmup_steps must be >= 0, got {warmup_steps}")
    if len(decay_at) != len(decay_to):
        raise ValueError(f"schedule: decay_at {list(decay_at)} and decay_to {list(decay_to)} differ in length")
    if list(decay_at) != sorted(decay_at) or any(not 0 < p <= 1 for p in decay_at):
        raise ValueError(f"schedule: decay_at {list(decay_at)} must be increasing shares of training in (0, 1]")
    if any(s < 0 for s in decay_to):
        raise ValueError(f"schedule: decay_to {list(decay_to)} must be non-negative shares of the peak")


def lr_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                 decay_at: Sequence[float], decay_to: Sequence[float]) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR over `optimizer` (whose lr is the peak) following `multistep_lr`; step it once per update."""
    check_schedule(total_steps, warmup_steps, decay_at, decay_to)
    decay_at, decay_to = list(decay_at), list(decay_to)  # frozen copies: the schedule cannot drift mid-run
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: multistep_lr(step, total_steps, warmup_steps, decay_at, decay_to))
