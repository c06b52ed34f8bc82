"""The test sets an evaluation runs on, and where few-shot examples and RL questions come from.

    from dsmath_lib.eval.benchmarks import load_eval_benchmarks, load_shot_pool, shots_for
    benchmarks = load_eval_benchmarks(params.eval, artifacts / "world")   # {name: [Problem]}, first n_problems
    load_eval_benchmarks(params.eval, artifacts / "world", n_problems=params.grpo.eval_problems)  # a stage's own n
    train = load_shot_pool(artifacts / "world", params.eval.benchmarks)   # each benchmark's own train split
    shots = {b: shots_for(b, train, params.eval.n_shots, params.seed) for b in benchmarks}

Synthetic benchmarks come from the files notebook 00_world writes; real ones (gsm8k, math, math500) from
data.load_benchmark. Few-shot examples and RL questions of a benchmark come from its own train split (the
world's for synth-gsm / synth-math; GSM8K's and MATH's for the real ones; MATH-500's is the PRM800K split, the
4,500 MATH test problems outside it: data.DERIVED_FILES), never from another benchmark's: a split that is missing is an error naming
the benchmark and the split. Departure from the paper at small scale: few-shot examples come from the easiest
level of the train split, so that k of them, the question and the generation budget fit the tiny models'
256-512-token context (the paper uses the benchmarks' standard few-shot prompts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dsmath_lib import paths
from dsmath_lib.config import EvalConfig
from dsmath_lib.data import DERIVED_FILES, LOCAL_FILES, SYNTH_BENCHMARKS, BenchmarkError, load_benchmark, read_jsonl
from dsmath_lib.eval.prompting import select_shots
from dsmath_lib.problem import Problem

TRAIN_SPLIT_OF: dict[str, str] = {}  # benchmark -> the benchmark whose train split it uses (none now: MATH-500 has
# its own, data.DERIVED_FILES, disjoint from its test set by construction)


def load_eval_benchmarks(cfg: EvalConfig, world_dir: str | Path, n_problems: int | None = None
                         ) -> dict[str, list[Problem]]:
    """The test problems of each benchmark in cfg.benchmarks, the first `n_problems` of each (None: cfg.n_problems,
    07's; a stage passes its own, e.g. params.grpo.eval_problems; 0 = all).

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
        n = cfg.n_problems if n_problems is None else n_problems
        out[name] = problems[:n] if n > 0 else problems
    return out


def train_source(benchmark: str) -> str:
    """The benchmark whose train split holds `benchmark`'s few-shot examples and RL questions.

    >>> train_source("math500"), train_source("gsm8k"), train_source("synth-gsm")
    ('math500', 'gsm8k', 'synth-gsm')
    """
    return TRAIN_SPLIT_OF.get(benchmark, benchmark)


def load_shot_pool(world_dir: str | Path, benchmarks: Sequence[str] | None = None) -> list[Problem]:
    """The train problems few-shot examples and RL questions are drawn from.

    benchmarks None: the world's whole train split (<world_dir>/train.jsonl, from notebook 00_world). Otherwise
    each benchmark's own train split, each split once: the world's problems of the synthetic benchmarks (in the
    world's order), then the train split of each real one (train_source; the local copy under paths.SHARED_DATA
    when there is one, else the hub). A split that cannot be loaded raises BenchmarkError naming the benchmark and the split: a real
    benchmark never silently gets the world's problems."""
    wanted = list(dict.fromkeys(train_source(b) for b in benchmarks)) if benchmarks is not None else None
    world = []
    if wanted is None or any(b in SYNTH_BENCHMARKS for b in wanted):
        path = Path(world_dir) / "train.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; run notebook 00_world first")
        world = read_jsonl(path, "train", split="train")
    if wanted is None:
        return world
    pool = [p for p in world if p.benchmark in wanted]
    for name in wanted:
        if name in SYNTH_BENCHMARKS and not any(p.benchmark == name for p in pool):
            raise BenchmarkError(f"{name}: no train problems of this benchmark in {Path(world_dir) / 'train.jsonl'}; "
                                 "rerun notebook 00_world")
        if name not in SYNTH_BENCHMARKS:
            pool += _real_train_split(name, [b for b in benchmarks if train_source(b) == name])
    return pool


def _real_train_split(name: str, asked_by: list[str]) -> list[Problem]:
    local = LOCAL_FILES.get((name, "train")) or DERIVED_FILES.get((name, "train"), (None,))[0]
    where = paths.SHARED_DATA / local if local else None
    try:
        return load_benchmark(name, split="train", source=None if where and where.is_file() else "hub")
    except BenchmarkError as err:
        local_note = f"no local copy at {where}" if where else f"no local copy of {name} train is known"
        raise BenchmarkError(f"{', '.join(asked_by)}: few-shot examples and RL questions come from the {name} "
                             f"train split, which is missing ({local_note}; from the hub: {err})") from err


def shots_for(benchmark: str, train: Sequence[Problem], k: int, seed: int = 0) -> list[Problem]:
    """k few-shot examples from the easiest level of the benchmark's own train problems in `train` (those of
    train_source(benchmark)). The easiest problems have the shortest worked examples: k of them, the question
    and the generation budget must fit the tiny models' 256-512-token context. A benchmark with no train
    problems in `train` is an error naming it, never examples from another benchmark.

    >>> train = [Problem(f"a/{i}", "a", "q", "s", "1", "numeric", level=1 + i % 2) for i in range(6)]
    >>> [p.level for p in shots_for("a", train, 2)], shots_for("a", train, 2) == shots_for("a", train, 2)
    ([1, 1], True)
    """
    source = train_source(benchmark)
    pool = [p for p in train if p.benchmark == source]
    if not pool:
        found = sorted({p.benchmark for p in train})
        raise BenchmarkError(f"{benchmark}: no few-shot examples, the pool holds no {source} train problems (it "
                             f"holds {', '.join(found) or 'nothing'}); load it with "
                             f"load_shot_pool(world_dir, [..., {benchmark!r}])")
    levels = [p.level for p in pool if p.level is not None]
    if levels:
        pool = [p for p in pool if p.level == min(levels)]
    return select_shots(pool, k, seed=seed)
