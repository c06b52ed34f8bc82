"""The one evaluation path: a model on test sets, one Record per answer, cached on disk by what determines it.

    from dsmath_lib.eval.evaluate import EvalSpec, evaluate, evaluate_checkpoints
    spec = EvalSpec.from_params(params, benchmarks, shots, modes=("cot-fewshot", "pot"), nll=True, code_tasks=tasks)
    records = evaluate(run_folder / "final", spec, cache_dir=artifacts / "evals")   # list[Record] (eval.records)
    records = evaluate((policy, tokenizer), spec)             # a model in memory: the same code, no disk cache
    runs = evaluate_checkpoints(checkpoints, benchmarks, train, params, artifacts / "evals")   # list[EvalRun]

Every caller goes through `evaluate`: notebooks 02-03 (base models: few-shot CoT, few-shot PoT, the gold
solution's NLL, code pass@1, through pretraining.score_runs), 04 (base and Instruct), 05 (Table 5: greedy and
samples for Maj@K / Pass@K), 07 (every checkpoint), and GRPO's held-out checks (rl.trainer.evaluate_policy).
A spec is cut into units, one per (benchmark, mode, decoding): "greedy" (one answer per problem),
"sample" (n_samples per problem at sampling.temperature, top_p, seeded) for every prompting mode, "none" for
NLL, and one greedy unit for the code tasks. Each unit is one cache file:

    <cache_dir>/<benchmark>_<mode>_<decoding>_<key>.json     (notebooks: artifacts/<scale>/evals/)

where key hashes what determines the unit's records (`unit_key`): the model's content
(checkpoints.checkpoint_digest: weight, config and tokenizer files, not the folder's path or card, so
checkpoints/instruct copied from a run folder hits the entry the run folder wrote, and a retrained
checkpoint misses), the dtype it runs in, every item's id, exact prompt (question, shots and the mode's
instruction), gold answer and kind (NLL: the scored solution; code: the prompt and the tests), the decoding
settings (max_new_tokens; for samples temperature, top_p, n_samples and seed), the sandbox and grading
limits the unit uses, and SCHEMA, bumped by hand when the harness changes in a way none of these show
(answer extraction, stop strings, the record's fields). Not in the key: batch sizes and worker counts
(throughput only; sampling.generate's random stream does not depend on batch_size) and the caller's name
for the checkpoint (records are relabelled when read). Files are written to a temporary sibling and
renamed, so an interrupted run leaves the previous file or none; each file also holds the key's settings
(all but the items) for inspection; deleting the folder re-evaluates everything. A rerun of a notebook
decodes nothing, nor does a later notebook evaluating the same model on the same items with the same
settings (05's greedy Instruct units are 04's when sft.eval_problems = grpo.eval_problems; 07 reads 05's
when eval.n_problems = grpo.eval_problems).

Where this departs from the paper at small scale: far fewer samples (K up to eval.max_k = 8 at tiny scale,
not 64), a subset of each test set (eval.n_problems and each notebook's own count), few-shot examples from
the easiest level of the world's train split (eval.benchmarks), and 64-256 new tokens rather than 1024.
Each sample unit starts its random stream at `seed`, so a unit's samples never depend on which other units
were already cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from dsmath_lib.config import EvalConfig, Params, SamplingConfig
from dsmath_lib.eval.benchmarks import shots_for
from dsmath_lib.eval.checkpoints import Checkpoint, checkpoint_digest, load_checkpoint, model_generate_fn
from dsmath_lib.eval.prompting import Attempt, GenerateFn, grade_attempts, prompts_for, solve
from dsmath_lib.eval.records import CODE, NLL, EvalRun, Record, runs_from_records
from dsmath_lib.problem import Problem

log = logging.getLogger(__name__)

SCHEMA = 2  # bump when prompting, extraction, grading or the record change in a way the key cannot see
SANDBOXED = ("pot", "tool-chat", CODE)  # modes whose answers depend on the sandbox's limits


@dataclass(frozen=True)
class EvalSpec:
    """What to measure on a model: test problems and shots per benchmark, modes, samples, budgets, limits."""

    benchmarks: Mapping[str, Sequence[Problem]]
    shots: Mapping[str, Sequence[Problem]] = field(default_factory=dict)  # few-shot examples per benchmark:
    # "cot-fewshot" and NLL need them, "pot" is few-shot when given them, chat modes ignore them
    modes: tuple[str, ...] = ("cot-chat",)  # prompting modes (eval.prompting.MODES)
    nll: bool = False  # also the gold solution's NLL per token (eval.nll; base models, a departure)
    code_tasks: Sequence = ()  # synth.code.CodeTask list: pass@1 of greedy completions; empty = none
    n_samples: int = 0  # samples per problem besides the greedy answer (Maj@K / Pass@K); 0 = greedy only
    sampling: SamplingConfig = field(default_factory=SamplingConfig)  # max_new_tokens, temperature, top_p, batch
    limits: EvalConfig = field(default_factory=EvalConfig)  # max_executions, sandbox / grading timeouts, workers
    seed: int = 0  # the samples' random stream
    dtype: str = "float32"  # what a checkpoint is loaded in (model.dtype)

    @classmethod
    def from_params(cls, params: Params, benchmarks: Mapping[str, Sequence[Problem]],
                    shots: Mapping[str, Sequence[Problem]] | None = None, modes: Sequence[str] = ("cot-chat",),
                    nll: bool = False, code_tasks: Sequence = (), n_samples: int = 0) -> "EvalSpec":
        """A spec with the params file's sampling, eval limits, seed and dtype."""
        return cls(dict(benchmarks), dict(shots or {}), tuple(modes), nll, list(code_tasks), n_samples,
                   params.sampling, params.eval, params.seed, params.model.dtype)

    def subset(self, n: int) -> "EvalSpec":
        """The same measures on the first n problems of each benchmark and the first n code tasks."""
        return dataclasses.replace(self, benchmarks={b: list(ps)[:n] for b, ps in self.benchmarks.items()},
                                   code_tasks=list(self.code_tasks)[:n])


@dataclass(frozen=True)
class Unit:
    """One cache file's worth of records: a benchmark (or the code tasks) in one mode and decoding."""

    benchmark: str
    mode: str
    decoding: str  # "greedy", "sample" or "none" (NLL)


def units(spec: EvalSpec) -> list[Unit]:
    """The units of a spec, in the order its records come out: per benchmark, each mode greedy then sampled,
    then NLL; the code tasks last.

    >>> [(u.mode, u.decoding) for u in units(EvalSpec({"b": []}, modes=("cot-chat",), n_samples=2, nll=True))]
    [('cot-chat', 'greedy'), ('cot-chat', 'sample'), ('nll', 'none')]
    """
    out = []
    for name in spec.benchmarks:
        for mode in spec.modes:
            out.append(Unit(name, mode, "greedy"))
            if spec.n_samples > 0:
                out.append(Unit(name, mode, "sample"))
        if spec.nll:
            out.append(Unit(name, NLL, "none"))
    if spec.code_tasks:
        out.append(Unit(spec.code_tasks[0].id.split("/")[0], CODE, "greedy"))
    return out


def unit_key(unit: Unit, spec: EvalSpec, model_digest: str) -> dict:
    """Everything that determines a unit's records (see the module docstring), as a JSON-ready dict."""
    s, cfg = spec.sampling, spec.limits
    key: dict = {"schema": SCHEMA, "model": model_digest, "dtype": spec.dtype, "unit": dataclasses.asdict(unit)}
    if unit.mode == CODE:
        from dsmath_lib.eval.code import model_prompt

        key["items"] = [(t.id, model_prompt(t), t.tests) for t in spec.code_tasks]
    elif unit.mode == NLL:
        shots = spec.shots.get(unit.benchmark, ())
        key["items"] = [(p.id, p.question, p.solution) for p in spec.benchmarks[unit.benchmark]]
        key["shots"] = [(p.id, p.question, p.solution) for p in shots]
        return key  # nothing is decoded or graded
    else:
        problems = spec.benchmarks[unit.benchmark]
        prompts = prompts_for(problems, unit.mode, spec.shots.get(unit.benchmark, ()))
        key["items"] = [(p.id, prompt, p.answer, p.answer_kind) for p, prompt in zip(problems, prompts)]
        key["grading_timeout_s"] = cfg.grading_timeout_s
        if unit.mode == "tool-chat":
            key["max_executions"] = cfg.max_executions
    key["max_new_tokens"] = s.max_new_tokens
    if unit.mode in SANDBOXED:
        key["sandbox_timeout_s"] = cfg.sandbox_timeout_s
    if unit.decoding == "sample":
        key |= {"temperature": s.temperature, "top_p": s.top_p, "n_samples": spec.n_samples, "seed": spec.seed}
    return key


def _digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Model:
    """The model under evaluation: loaded on first use from a folder, Checkpoint or hub name, or given in
    memory as (model, tokenizer), which has no digest and so is never cached."""

    def __init__(self, model, dtype: str):
        self._loaded = tuple(model) if isinstance(model, tuple) else None
        self.path = None if self._loaded else (model.path if isinstance(model, Checkpoint) else str(model))
        self.digest = None if self._loaded else checkpoint_digest(self.path)
        self.dtype = dtype

    def get(self):
        if self._loaded is None:
            self._loaded = load_checkpoint(self.path, self.dtype)
        return self._loaded


def evaluate(model, spec: EvalSpec, cache_dir: str | Path | None = None, name: str = "",
             progress: bool = False) -> list[Record]:
    """Every unit of `spec` on one model: a list of Records, greedy before samples, per benchmark and mode.

    model: a checkpoint folder, a Checkpoint, a hub name, or (model, tokenizer) in memory. A unit whose
    file is in `cache_dir` is read, not decoded (the model is loaded only when some unit is missing); None
    or an in-memory model: no disk cache. `name` labels the records (default: the Checkpoint's name, else
    the folder's name, else "policy")."""
    source = _Model(model, spec.dtype)
    if not name:
        name = model.name if isinstance(model, Checkpoint) else Path(source.path).name if source.path else "policy"
    folder = Path(cache_dir) if cache_dir is not None and source.digest else None
    records: list[Record] = []
    for unit in units(spec):
        compute = _unit_fn(unit, spec, source, name, progress)
        records += compute() if folder is None else _cached(folder, unit, unit_key(unit, spec, source.digest),
                                                            compute, name)
    return records


def _cached(folder: Path, unit: Unit, key: dict, compute: Callable[[], list[Record]], name: str) -> list[Record]:
    """The unit's records from its cache file, relabelled `name`; else computed and written atomically."""
    path = folder / f"{unit.benchmark.replace('/', '_')}_{unit.mode}_{unit.decoding}_{_digest(key)}.json"
    if path.is_file():
        try:
            return [Record(**r | {"checkpoint": name}) for r in json.loads(path.read_text())["records"]]
        except (ValueError, KeyError, TypeError) as err:  # a damaged file is recomputed, never trusted
            log.warning("%s: unreadable cached evaluation (%s); evaluating again", path, err)
    records = compute()
    folder.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in key.items() if k != "items"} | {"items": len(key["items"])}
    blob = {"settings": settings, "records": [r.to_dict() | {"checkpoint": ""} for r in records]}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(blob, ensure_ascii=False))
    os.replace(tmp, path)
    return records


def _unit_fn(unit: Unit, spec: EvalSpec, source: _Model, name: str, progress: bool) -> Callable[[], list[Record]]:
    """The computation of one unit's records (run only on a cache miss)."""
    s, cfg = spec.sampling, spec.limits

    def generate_fn(temperature: float) -> GenerateFn:
        model, tokenizer = source.get()
        return model_generate_fn(model, tokenizer, max_new_tokens=s.max_new_tokens, temperature=temperature,
                                 top_p=s.top_p, batch_size=s.batch_size, seed=spec.seed, progress=progress,
                                 reuse_prefixes=unit.mode == "tool-chat")

    if unit.mode == CODE:
        return lambda: _code_records(spec.code_tasks, generate_fn(0.0), cfg, name, progress)
    problems = list(spec.benchmarks[unit.benchmark])
    shots = list(spec.shots.get(unit.benchmark, ()))
    if unit.mode == NLL:
        return lambda: _nll_records(problems, shots, source, name)
    sampled = unit.decoding == "sample"

    def solve_unit() -> list[Record]:
        fn = generate_fn(s.temperature if sampled else 0.0)
        attempts, correct = solve_and_grade(problems, fn, unit.mode, cfg, shots, spec.n_samples if sampled else 1,
                                            progress)
        return attempt_records(attempts, correct, problems, name, unit.mode, unit.decoding)

    return solve_unit


def solve_and_grade(problems: Sequence[Problem], generate_fn: GenerateFn, mode: str, cfg: EvalConfig,
                    shots: Sequence[Problem] = (), samples: int = 1,
                    progress: bool = False) -> tuple[list[Attempt], list[bool]]:
    """prompting.solve then prompting.grade_attempts with the eval params' sandbox and grading limits
    (max_executions, sandbox_timeout_s, grading_timeout_s, grading_workers); (attempts, correct)."""
    attempts = solve(problems, generate_fn, mode, shots=shots, samples=samples, max_executions=cfg.max_executions,
                     timeout_s=cfg.sandbox_timeout_s, workers=cfg.grading_workers)
    correct = grade_attempts(attempts, problems, workers=cfg.grading_workers, timeout_s=cfg.grading_timeout_s,
                             progress=progress)
    return attempts, correct


def attempt_records(attempts: Sequence[Attempt], correct: Sequence[bool], problems: Sequence[Problem],
                    checkpoint: str, mode: str, decoding: str) -> list[Record]:
    """One Record per attempt (attempts in solve's order, correct aligned with them)."""
    by_id = {p.id: p for p in problems}
    return [Record(checkpoint, by_id[a.problem_id].benchmark, a.problem_id, by_id[a.problem_id].level,
                   by_id[a.problem_id].subject, mode, decoding, a.sample, a.output, a.answer,
                   by_id[a.problem_id].answer, float(ok), a.executions) for a, ok in zip(attempts, correct)]


def _nll_records(problems: list[Problem], shots: list[Problem], source: _Model, name: str) -> list[Record]:
    from dsmath_lib.eval.nll import solution_nll

    model, tokenizer = source.get()
    return [Record(name, p.benchmark, p.id, p.level, p.subject, NLL, "none", 0, "", None, p.answer, v)
            for p, v in zip(problems, solution_nll(model, tokenizer, problems, shots))]


def _code_records(tasks, generate_fn: GenerateFn, cfg: EvalConfig, name: str, progress: bool) -> list[Record]:
    from dsmath_lib.eval.code import code_attempts

    done = code_attempts(tasks, generate_fn, timeout_s=cfg.sandbox_timeout_s, workers=cfg.grading_workers,
                         progress=progress)
    return [Record(name, t.id.split("/")[0], t.id, t.level, t.family, CODE, "greedy", 0, body, None, "", float(ok), 1)
            for t, (body, ok) in zip(tasks, done)]


def evaluate_checkpoints(checkpoints: Sequence[Checkpoint], benchmarks: Mapping[str, Sequence[Problem]],
                         train: Sequence[Problem], params: Params, cache_dir: str | Path | None,
                         n_samples: int | None = None) -> list[EvalRun]:
    """evaluate() of every checkpoint in its modes (Checkpoint.modes) on every benchmark: greedy, plus
    n_samples samples per problem (None: eval.n_samples); few-shot examples from `train` (shots_for) for
    checkpoints with a few-shot mode. One EvalRun per (checkpoint, benchmark, mode), with Maj@K / Pass@K."""
    runs: list[EvalRun] = []
    for checkpoint in tqdm(checkpoints, desc="checkpoints"):
        fewshot = "cot-fewshot" in checkpoint.modes
        shots = {b: shots_for(b, train, params.eval.n_shots, params.seed) for b in benchmarks} if fewshot else {}
        spec = EvalSpec.from_params(params, benchmarks, shots, checkpoint.modes,
                                    n_samples=params.eval.n_samples if n_samples is None else n_samples)
        records = evaluate(checkpoint, spec, cache_dir, name=checkpoint.name, progress=True)
        runs += runs_from_records(records, params.eval, seed=params.seed)
    return runs
