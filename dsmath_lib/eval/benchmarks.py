"""The test sets an evaluation runs on, and the few-shot examples of base-model prompts.

    from dsmath_lib.eval.benchmarks import load_eval_benchmarks, load_shot_pool, shots_for
    benchmarks = load_eval_benchmarks(params.eval, artifacts / "world")   # {name: [Problem]}, first n_problems
    train = load_shot_pool(artifacts / "world")                           # the world's train split
    shots = {b: shots_for(b, train, params.eval.n_shots, params.seed) for b in benchmarks}

Synthetic benchmarks come from the files notebook 00_world writes; real ones (gsm8k, math, math500) from
data.load_benchmark. Departure from the paper at small scale: few-shot examples come from the easiest level
of the world's train split, so that k of them, the question and the generation budget fit the tiny models'
256-512-token context (the paper uses the benchmarks' standard few-shot prompts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dsmath_lib.config import EvalConfig
from dsmath_lib.data import SYNTH_BENCHMARKS, load_benchmark, read_jsonl
from dsmath_lib.eval.prompting import select_shots
from dsmath_lib.problem import Problem


def load_eval_benchmarks(cfg: EvalConfig, world_dir: str | Path) -> dict[str, list[Problem]]:
    """The test problems of each benchmark in cfg.benchmarks, the first cfg.n_problems of each (0 = all).

    Synthetic benchmarks come from <world_dir>/test/<name>.jsonl (written by notebook 00_world); real ones
    from data.load_benchmark (the local copies under paths.SHARED_DATA)."""
    out = {}
    for name in cfg.benchmarks:
        if name in SYNTH_BENCHMARKS:
            path = Path(world_dir) / "test" / f"{name}.jsonl"
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing; run notebook 00_world first")
            problems = read_jsonl(path, name)
        else:
            problems = load_benchmark(name)
        out[name] = problems[: cfg.n_problems] if cfg.n_problems > 0 else problems
    return out


def load_shot_pool(world_dir: str | Path) -> list[Problem]:
    """The world's training problems (<world_dir>/train.jsonl), where few-shot examples come from."""
    path = Path(world_dir) / "train.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run notebook 00_world first")
    return read_jsonl(path, "train", split="train")


def shots_for(benchmark: str, train: Sequence[Problem], k: int, seed: int = 0) -> list[Problem]:
    """k few-shot examples from the easiest level of the benchmark's train problems (all train problems if
    none are from this benchmark). The easiest problems have the shortest worked examples: k of them, the
    question and the generation budget must fit the tiny models' 256-512-token context.

    >>> train = [Problem(f"a/{i}", "a", "q", "s", "1", "numeric", level=1 + i % 2) for i in range(6)]
    >>> [p.level for p in shots_for("a", train, 2)], shots_for("a", train, 2) == shots_for("a", train, 2)
    ([1, 1], True)
    """
    pool = [p for p in train if p.benchmark == benchmark] or list(train)
    levels = [p.level for p in pool if p.level is not None]
    if levels:
        pool = [p for p in pool if p.level == min(levels)]
    return select_shots(pool, k, seed=seed)
