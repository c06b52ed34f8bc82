"""Benchmark loaders: GSM8K, MATH, MATH500 and the synthetic benchmarks, all as `Problem` records.

    from dsmath_lib.data import load_benchmark
    load_benchmark("gsm8k")                        # ../shared/data/gsm8k/test.jsonl (paths.SHARED_DATA)
    load_benchmark("math500")                      # ../shared/data/math/math500_test.jsonl
    load_benchmark("gsm8k", split="train")         # few-shot examples and SFT questions
    load_benchmark("math500", split="train")       # MATH test minus MATH500: PRM800K's 4,500 training problems
    load_benchmark("math", source="hub")           # gpu scale: EleutherAI/hendrycks_math from the hub
    load_benchmark("math", source="my/math.jsonl") # any local JSONL file by path
    load_benchmark("synth-gsm", world=params.world) # the embedded world (dsmath_lib.synth)

A local JSONL record is read by its fields: GSM8K's {question, answer with a final "#### n" line}; MATH's
{problem, solution with \\boxed{}, level, type | subject, and optionally answer} (the original test split
and prm800k's MATH500 both); or a Problem written by `Problem.to_json`. A malformed line raises
`BenchmarkError` naming the file and the line. GSM8K solutions lose their calculator annotations
(`<<48/2=24>>`) and end with "The answer is n." instead of "#### n", the form every numeric solution in
dsmath has (problem.py) and the form of the paper's few-shot GSM8K prompts; the answer keeps GSM8K's own
text ("1,450,000"), which grading reads as a number.
Hub loading needs network access: with HF_HUB_OFFLINE=1 (tests, laptop scales) it raises BenchmarkError
saying to pass a local path instead.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from dsmath_lib import paths
from dsmath_lib.problem import Problem, last_boxed

# Local files under paths.SHARED_DATA, by (benchmark, split).
LOCAL_FILES = {
    ("gsm8k", "train"): "gsm8k/train.jsonl",
    ("gsm8k", "test"): "gsm8k/test.jsonl",
    ("math", "test"): "math/math_test.jsonl",
    ("math500", "test"): "math/math500_test.jsonl",
}
# Hub datasets, by benchmark: (name, config names). hendrycks_math has one config per subject.
HUB_DATASETS = {
    "gsm8k": ("openai/gsm8k", ["main"]),
    "math": ("EleutherAI/hendrycks_math", ["algebra", "counting_and_probability", "geometry",
                                           "intermediate_algebra", "number_theory", "prealgebra",
                                           "precalculus"]),
    "math500": ("HuggingFaceH4/MATH-500", [None]),
}
# Splits made from two local files, by (benchmark, split): (file whose problems are kept, file whose problems are
# removed). MATH500 ships no train split: the 4,500 MATH test problems outside MATH500 are PRM800K's training
# problems (Lightman et al. 2023), the held-out 500 being MATH500, so they are its train split (few-shot
# examples, RL questions) and never overlap its test set (matched by problem text).
DERIVED_FILES = {
    ("math500", "train"): ("math/math_test.jsonl", "math/math500_test.jsonl"),
}
SYNTH_BENCHMARKS = ("synth-gsm", "synth-math")


class BenchmarkError(ValueError):
    """A benchmark that cannot be loaded: the message names the file and line, or the dataset."""


def gsm8k_problem(record: dict, pid: str, benchmark: str = "gsm8k") -> Problem:
    """A GSM8K record {question, answer: "...\\n#### 18"} as a Problem.

    >>> p = gsm8k_problem({"question": "2+3?", "answer": "2+3=<<2+3=5>>5\\n#### 5"}, "gsm8k/test/0")
    >>> p.solution, p.answer
    ('2+3=5\\nThe answer is 5.', '5')
    """
    text = record["answer"]
    if "####" not in text:
        raise KeyError("no '#### answer' line in 'answer'")
    steps, answer = text.rsplit("####", 1)
    answer = answer.strip()
    steps = re.sub(r"<<[^<>]*>>", "", steps).strip()
    solution = f"{steps}\nThe answer is {answer}." if steps else f"The answer is {answer}."
    return Problem(id=pid, benchmark=benchmark, question=record["question"], solution=solution,
                   answer=answer, answer_kind="numeric")


def math_problem(record: dict, pid: str, benchmark: str = "math") -> Problem:
    """A MATH record (original {problem, level: "Level 3", type} or prm800k {.., answer, subject, level: 3}).

    >>> p = math_problem({"problem": "1+1?", "solution": "$\\\\boxed{2}$", "level": "Level 1",
    ...                   "type": "Algebra"}, "math/test/0")
    >>> p.answer, p.level, p.subject
    ('2', 1, 'Algebra')
    """
    solution = record["solution"]
    answer = record.get("answer")
    if answer is None:
        answer = last_boxed(solution)
        if answer is None:
            raise KeyError("no 'answer' field and no \\boxed{} answer in 'solution'")
    level = record.get("level")
    if isinstance(level, str):  # "Level 3"; a few MATH records have "Level ?"
        digits = re.findall(r"\d+", level)
        level = int(digits[0]) if digits else None
    return Problem(id=pid, benchmark=benchmark, question=record["problem"], solution=solution,
                   answer=str(answer), answer_kind="latex", level=level,
                   subject=record.get("subject", record.get("type")))


def record_to_problem(record: Any, pid: str, benchmark: str) -> Problem:
    """Dispatch on the record's fields: a Problem dump, a GSM8K record or a MATH record."""
    if not isinstance(record, dict):
        raise TypeError(f"expected a JSON object, got {type(record).__name__}")
    if "answer_kind" in record:
        return Problem.from_dict(record)
    if "question" in record:
        return gsm8k_problem(record, pid, benchmark)
    if "problem" in record:
        return math_problem(record, pid, benchmark)
    raise KeyError(f"fields {sorted(record)} match no known format (GSM8K, MATH, Problem)")


def read_jsonl(path: str | Path, benchmark: str, split: str = "test") -> list[Problem]:
    """Every line of a local JSONL file as a Problem with id "<benchmark>/<split>/<line index>".

    Raises BenchmarkError("<file>:<line>: ...") for a line that is not JSON or lacks a field.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"{path}: benchmark file not found")
    problems = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                problems.append(record_to_problem(record, f"{benchmark}/{split}/{len(problems)}", benchmark))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
                raise BenchmarkError(f"{path}:{lineno}: malformed {benchmark} record: {err}") from err
    if not problems:
        raise BenchmarkError(f"{path}: no records")
    return problems


def load_hub(benchmark: str, split: str = "test") -> list[Problem]:
    """A benchmark from the Hugging Face hub (gpu scale); fails clearly when offline."""
    import datasets

    name, configs = HUB_DATASETS[benchmark]
    records = []
    try:
        for config in configs:
            records += list(datasets.load_dataset(name, config, split=split))
    except Exception as err:  # noqa: BLE001 - offline, missing split, hub errors: all mean "cannot load"
        raise BenchmarkError(
            f"cannot load {benchmark} split {split!r} from the hub ({name}): {type(err).__name__}: {err}. "
            "Offline (HF_HUB_OFFLINE=1 or no network)? Pass a local JSONL file with source=<path>.") from err
    out = []
    for i, record in enumerate(records):
        try:
            out.append(record_to_problem(dict(record), f"{benchmark}/{split}/{i}", benchmark))
        except (KeyError, TypeError) as err:
            raise BenchmarkError(f"{name} split {split!r} record {i}: malformed: {err}") from err
    return out


def difference(problems: list[Problem], held_out: list[Problem], benchmark: str, split: str) -> list[Problem]:
    """The problems whose question text is not a question of `held_out`, renumbered "<benchmark>/<split>/<i>".

    >>> a = [Problem("m/test/0", "m", "1+1?", "2", "2", "latex"), Problem("m/test/1", "m", "2+2?", "4", "4", "latex")]
    >>> [p.id for p in difference(a, a[:1], "m", "train")], difference(a, a[:1], "m", "train")[0].question
    (['m/train/0'], '2+2?')
    """
    held = {p.question.strip() for p in held_out}
    kept = [p for p in problems if p.question.strip() not in held]
    return [dataclasses.replace(p, id=f"{benchmark}/{split}/{i}") for i, p in enumerate(kept)]


def load_benchmark(name: str, split: str = "test", source: str | Path | None = None,
                   world=None, limit: int | None = None) -> list[Problem]:
    """Load a benchmark as Problems.

    name: "gsm8k", "math", "math500", "synth-gsm" or "synth-math" (any name with source=<path>).
    source: None for the local copy under paths.SHARED_DATA, "hub" for the hub, or a JSONL path.
    world: the WorldConfig for synth benchmarks (their test split only). limit: keep the first `limit`.
    """
    if name in SYNTH_BENCHMARKS:
        if world is None or split != "test":
            raise BenchmarkError(f"{name}: synthetic benchmarks need world=<WorldConfig> and split='test'")
        from dsmath_lib.synth import benchmark as synth_benchmark  # lazy: synth is a heavier import

        problems = synth_benchmark(world, name)
    elif source == "hub":
        if name not in HUB_DATASETS:
            raise BenchmarkError(f"no hub dataset known for {name!r} (known: {', '.join(HUB_DATASETS)})")
        problems = load_hub(name, split)
    elif source is not None:
        problems = read_jsonl(source, name, split)
    elif (name, split) in LOCAL_FILES:
        problems = read_jsonl(paths.SHARED_DATA / LOCAL_FILES[name, split], name, split)
    elif (name, split) in DERIVED_FILES:
        keep, remove = DERIVED_FILES[name, split]
        problems = difference(read_jsonl(paths.SHARED_DATA / keep, name, split),
                              read_jsonl(paths.SHARED_DATA / remove, name, "test"), name, split)
    else:
        known = ", ".join(f"{b}/{s}" for b, s in [*LOCAL_FILES, *DERIVED_FILES])
        raise BenchmarkError(f"no local file for {name!r} split {split!r} (known: {known}); pass source=")
    return problems[:limit] if limit is not None else problems
