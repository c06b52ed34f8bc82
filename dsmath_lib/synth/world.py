"""The embedded world's problem sets: train and test splits of synth-gsm and synth-math from one WorldConfig.

    from dsmath_lib.config import WorldConfig
    from dsmath_lib.synth.world import generate_world, benchmark
    world = generate_world(WorldConfig(seed=0, n_train=20_000, n_test=500))
    world.train                  # 2 * n_train problems: synth-gsm/train/0.., then synth-math/train/0..
    world.test["synth-gsm"]      # n_test problems, the same as benchmark(cfg, "synth-gsm")

Determinism: each (benchmark, split) has its own random.Random stream seeded by the string
"dsmath-synth:<seed>:<benchmark>:<split>" (string seeds are hashed by SHA-512 inside `random`, so they
are stable across processes and Python versions); nothing touches the global RNG. The same WorldConfig
gives byte-identical problems, and a larger n_train extends the train split without changing its start.

Balance: problem i of a split comes from the i-th cell of a fixed cycle over (family, level), levels
varying fastest, so every level and every family x level is equally represented; a rejected candidate is
redrawn from the same cell, so rejections cannot shift the mix.

Disjointness: the test sets are drawn first, from their own streams, with exact duplicates skipped; they
depend only on seed, n_test and the difficulty knobs, not on n_train. Train candidates are then drawn
from the train streams and rejected when they overlap any test question (exact match, a shared
`ngram`-gram of words, or containing a whole short test question: see overlap.py). Rejecting on the train
side keeps the benchmark's distribution untouched; World.stats counts the rejections, which stay rare
because every template puts a name, a number or a formula within every few words (tiny scale, measured
2026-11: about 4% of synth-gsm and 2% of synth-math train candidates; without the rejection that share of
the train split would overlap the test set). Train problems may
repeat each other (level-1 forms have small spaces); they never repeat a test problem.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Callable

from tqdm.auto import tqdm

from dsmath_lib.config import WorldConfig
from dsmath_lib.problem import Problem
from dsmath_lib.synth import arithmetic, mathlike
from dsmath_lib.synth.overlap import OverlapIndex, words

BENCHMARKS = ("synth-gsm", "synth-math")


@dataclass
class World:
    """Train problems of both benchmarks, their test sets, and generation counts."""

    train: list[Problem]
    test: dict[str, list[Problem]]
    stats: dict[str, int] = field(default_factory=dict)  # e.g. "synth-gsm/train/rejected": overlaps thrown away


def _check(cfg: WorldConfig) -> None:
    """Knob values the generators cannot honour, named as params keys."""
    if not 1 <= cfg.math_levels <= mathlike.MAX_LEVEL:
        raise ValueError(f"world.math_levels = {cfg.math_levels}: must be within 1..{mathlike.MAX_LEVEL}")
    if cfg.gsm_max_steps < 1 or cfg.max_operand < 2 or cfg.ngram < 1:
        raise ValueError(f"world.gsm_max_steps, world.max_operand, world.ngram must be >= 1, 2, 1: got "
                         f"{cfg.gsm_max_steps}, {cfg.max_operand}, {cfg.ngram}")
    if cfg.n_train < 0 or cfg.n_test < 0:
        raise ValueError(f"world.n_train and world.n_test must be >= 0: got {cfg.n_train}, {cfg.n_test}")


def _makers(cfg: WorldConfig, name: str) -> list[Callable[[random.Random], Problem]]:
    """The cycle of cells a split walks through, one maker per (family, level). Levels vary fastest, so
    any prefix of a split (smoke's 64 problems) is balanced over levels first, then over families."""
    if name == "synth-gsm":
        families, levels = arithmetic.SCENARIOS, range(1, cfg.gsm_max_steps + 1)
        args = (cfg.max_operand, cfg.gsm_max_steps)
    elif name == "synth-math":
        families, levels, args = mathlike.FAMILIES, range(1, cfg.math_levels + 1), (cfg.max_operand,)
    else:
        raise ValueError(f"unknown synth benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")

    def cell(family: Callable[..., Problem], level: int) -> Callable[[random.Random], Problem]:
        return lambda rng: family(rng, level, *args)
    return [cell(family, level) for family in families.values() for level in levels]


def _draw(cfg: WorldConfig, name: str, split: str, n: int, reject: Callable[[Problem], bool],
          stats: dict[str, int]) -> list[Problem]:
    """n problems of one split from its own stream; problem i comes from cell i of the cycle, redrawn while
    `reject` says so (so rejections never skew the level balance)."""
    rng = random.Random(f"dsmath-synth:{cfg.seed}:{name}:{split}")
    makers = _makers(cfg, name)
    out: list[Problem] = []
    rejected, limit = 0, 20 * n + 1000
    with tqdm(total=n, desc=f"{name}/{split}", leave=False, mininterval=1.0) as bar:
        while len(out) < n:
            p = makers[len(out) % len(makers)](rng)
            if reject(p):
                rejected += 1
                if rejected > limit:
                    raise RuntimeError(f"{name}/{split}: {rejected} candidates rejected for {len(out)} kept: the "
                                       f"problem space is too small for this n (raise world.max_operand)")
                continue
            out.append(dataclasses.replace(p, id=f"{name}/{split}/{len(out)}"))
            bar.update(1)
    stats[f"{name}/{split}/rejected"] = rejected
    return out


def _test_set(cfg: WorldConfig, name: str, stats: dict[str, int]) -> list[Problem]:
    seen: set[tuple[str, ...]] = set()

    def duplicate(p: Problem) -> bool:
        key = tuple(words(p.question))
        if key in seen:
            return True
        seen.add(key)
        return False
    return _draw(cfg, name, "test", cfg.n_test, duplicate, stats)


def benchmark(cfg: WorldConfig, name: str) -> list[Problem]:
    """The fixed test set of "synth-gsm" or "synth-math": n_test problems, no two with the same question.

    >>> probs = benchmark(WorldConfig(n_test=10), "synth-math")
    >>> len(probs), probs[5].id, [(p.subject, p.level) for p in probs[4:6]]
    (10, 'synth-math/test/5', [('algebra', 5), ('fractions', 1)])
    """
    _check(cfg)
    return _test_set(cfg, name, {})


def generate_world(cfg: WorldConfig) -> World:
    """Both benchmarks' test sets, then n_train train problems each, none overlapping any test question.

    >>> world = generate_world(WorldConfig(n_train=50, n_test=20))
    >>> len(world.train), sorted(world.test), world.train[0].id, world.train[-1].id
    (100, ['synth-gsm', 'synth-math'], 'synth-gsm/train/0', 'synth-math/train/49')
    """
    _check(cfg)
    stats: dict[str, int] = {}
    test = {name: _test_set(cfg, name, stats) for name in BENCHMARKS}
    index = OverlapIndex([p for probs in test.values() for p in probs], cfg.ngram)
    train = [p for name in BENCHMARKS
             for p in _draw(cfg, name, "train", cfg.n_train, lambda p: index.find(p.question) is not None, stats)]
    return World(train=train, test=test, stats=stats)
