"""The world as files and tables: what notebook 00_world writes for every later notebook to read.

    world = generate_world(params.world)
    write_world(world, paths.artifacts_dir(scale) / "world")   # train.jsonl, test/synth-gsm.jsonl, ...
    world_table(world)                                          # problems per benchmark, split and level
    token_table(world, tokenizer)                               # tokens per question and solution

The JSONL files hold one `Problem.to_json()` per line (dsmath_lib.data.read_jsonl reads them back).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd

from dsmath_lib.problem import Problem
from dsmath_lib.synth.world import World


def write_world(world: World, folder: Path) -> dict[str, Path]:
    """Write train.jsonl and test/<benchmark>.jsonl under `folder` (each file atomically); returns the paths."""
    files = {"train": folder / "train.jsonl"}
    files.update({name: folder / "test" / f"{name}.jsonl" for name in world.test})
    for key, path in files.items():
        problems = world.train if key == "train" else world.test[key]
        _write_jsonl(problems, path)
    return files


def _write_jsonl(problems: list[Problem], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(p.to_json() + "\n" for p in problems))
    os.replace(tmp, path)


def _rows(world: World):
    """(split, problem) pairs over the whole world."""
    yield from (("train", p) for p in world.train)
    for problems in world.test.values():
        yield from (("test", p) for p in problems)


def world_table(world: World) -> pd.DataFrame:
    """Problems per benchmark, split and level, with mean solution steps (lines before the answer line).

    >>> from dsmath_lib.config import WorldConfig
    >>> from dsmath_lib.synth import generate_world
    >>> t = world_table(generate_world(WorldConfig(n_train=60, n_test=20)))
    >>> int(t[t.split == "test"].problems.sum())
    40
    """
    frame = pd.DataFrame(
        [{"benchmark": p.benchmark, "split": split, "level": p.level, "steps": p.solution.count("\n")}
         for split, p in _rows(world)]
    )
    return (frame.groupby(["benchmark", "split", "level"], as_index=False)
            .agg(problems=("steps", "size"), mean_steps=("steps", "mean")))


def tokenizer_texts(world: World, n: int, seed: int = 0) -> list[str]:
    """`n` texts sampled from the training split (question, solution and program of each problem).

    Only train problems feed the tokenizer, so no test text shapes its merges.
    """
    texts = [text for p in world.train for text in (p.question, p.solution, p.program or "")]
    return random.Random(seed).sample(texts, min(n, len(texts)))


def token_table(world: World, tokenizer) -> pd.DataFrame:
    """Mean and max tokens of question and solution per benchmark and level (test split)."""
    rows = []
    for problems in world.test.values():
        for p in problems:
            rows.append({"benchmark": p.benchmark, "level": p.level,
                         "question_tokens": len(tokenizer(p.question)["input_ids"]),
                         "solution_tokens": len(tokenizer(p.solution, add_special_tokens=False)["input_ids"])})
    frame = pd.DataFrame(rows)
    return frame.groupby(["benchmark", "level"], as_index=False).agg(
        mean_question_tokens=("question_tokens", "mean"), mean_solution_tokens=("solution_tokens", "mean"),
        max_solution_tokens=("solution_tokens", "max"))


def example_problems(world: World) -> list[Problem]:
    """The first test problem of each benchmark at its lowest and at its highest level."""
    examples = []
    for problems in world.test.values():
        levels = sorted({p.level for p in problems})
        for level in (levels[0], levels[-1]):
            examples.append(next(p for p in problems if p.level == level))
    return examples
