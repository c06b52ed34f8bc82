"""Scores of a base (pretrained, not instruction-tuned) checkpoint, per problem, cached beside the checkpoint.

    from dsmath_lib.eval.base import BaseEval, score_checkpoint
    spec = BaseEval(benchmarks=tests, shots=shots, modes=("cot-fewshot", "pot"), code_tasks=tasks)
    scores = score_checkpoint("artifacts/tiny/runs/ab12.../", spec, params)   # list of per-problem records
    solution_nll(model, tokenizer, problems, shots)                            # per-problem NLL of the gold CoT

What notebooks 02 and 03 (paper Tables 1, 6-8) measure of each model: few-shot chain-of-thought accuracy
("GSM8K", "MATH"), few-shot program-of-thought accuracy run in the sandbox ("GSM8K+Python", "MATH+Python"),
pass@1 on the world's code benchmark ("HumanEval", "MBPP"), and one measure the paper does not report: the
mean negative log-likelihood per token of the gold worked solution under the same few-shot prompt. Tiny models
that solve almost nothing still differ in how well they predict a correct solution, so this column shows a
corpus's effect where accuracy sits at the floor; it is a departure, said as such in every table.

Each (checkpoint, benchmark, measure) is a list of per-problem records {benchmark, mode, id, level, score},
score being 0/1 for accuracy and nats/token for NLL, written to <checkpoint>/evals/<key>.json; the key hashes
the problem ids, shots, generation budget and sandbox limits, so a rerun (or another notebook evaluating the
same run: 03 reuses 02's math-only runs) reads the file instead of decoding again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dsmath_lib.config import Params
from dsmath_lib.eval.prompting import few_shot_prompt  # noqa: F401 (tests use B.few_shot_prompt)
from dsmath_lib.problem import Problem

NLL = "nll"  # the measure name of solution_nll in records and tables
CODE = "code"  # the measure name of the code benchmark's pass@1


@dataclass
class BaseEval:
    """What to measure on every checkpoint: test problems and shots per benchmark, modes, code tasks."""

    benchmarks: dict[str, list[Problem]]
    shots: dict[str, list[Problem]] = field(default_factory=dict)  # few-shot examples per benchmark (with
    # programs, for PoT); chat modes of instruction models take none
    modes: tuple[str, ...] = ("cot-fewshot",)  # prompting modes from eval.prompting ("cot-fewshot", "pot")
    nll: bool = True  # also the gold solution's NLL per token
    code_tasks: list = field(default_factory=list)  # synth.code.CodeTask list; empty = no code benchmark
    max_new_tokens: int = 0  # generation budget; 0 = params.sampling.max_new_tokens

    def subset(self, n: int) -> "BaseEval":
        """The same measures on the first n problems of each benchmark (learning-curve points)."""
        return BaseEval({b: ps[:n] for b, ps in self.benchmarks.items()}, self.shots, self.modes, self.nll,
                        self.code_tasks[:n], self.max_new_tokens)


def solution_nll(model, tokenizer, problems: Sequence[Problem], shots: Sequence[Problem],
                 batch_size: int = 16) -> list[float]:
    """Mean negative log-likelihood (nats per token) of each problem's gold solution after its few-shot prompt.

    The scored text is " " + solution, exactly what follows "Answer:" in a few-shot example, so the number is
    the model's loss on a correct answer in the evaluation's own format.
    """
    prompts = [few_shot_prompt(p.question, shots) for p in problems]
    targets = [" " + p.solution.strip() for p in problems]
    out: list[float] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(problems), batch_size):
            out += _batch_nll(model, tokenizer, prompts[start:start + batch_size], targets[start:start + batch_size])
    return out


def _batch_nll(model, tokenizer, prompts: list[str], targets: list[str]) -> list[float]:
    rows, spans = [], []
    for prompt, target in zip(prompts, targets):
        p = tokenizer(prompt)["input_ids"]
        t = tokenizer(target, add_special_tokens=False)["input_ids"]
        ids = (p + t)[-model.config.max_position_embeddings:]  # keep the solution when the prompt is too long
        rows.append(ids)
        spans.append((len(ids) - len(t), len(ids)))
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])  # (B, T), right-padded
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), dim=-1)
    token_logp = logp.gather(-1, ids[:, 1:, None])[..., 0]  # (B, T-1): log p(token t+1 | prefix)
    return [float(-token_logp[i, lo - 1:hi - 1].mean()) for i, (lo, hi) in enumerate(spans)]


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _cached(path: Path, compute) -> list[dict]:
    if path.is_file():
        return json.loads(path.read_text())
    records = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(records))
    os.replace(tmp, path)
    return records


def score_checkpoint(checkpoint: str | Path, spec: BaseEval, params: Params, progress: bool = False) -> list[dict]:
    """Every measure of `spec` on one checkpoint folder: per-problem records, cached in <checkpoint>/evals/."""
    from dsmath_lib.eval.runner import solve_and_grade, model_generate_fn
    from dsmath_lib.model import load_model

    checkpoint = Path(checkpoint)
    s, cfg = params.sampling, params.eval
    max_new_tokens = spec.max_new_tokens or s.max_new_tokens
    budget = (max_new_tokens, cfg.sandbox_timeout_s, cfg.max_executions)
    loaded: list = []

    def model():  # loaded only when some measure is not cached yet
        if not loaded:
            loaded.extend(load_model(checkpoint, dtype=params.model.dtype))
        return loaded

    def greedy_fn():
        m, tok = model()
        return model_generate_fn(m, tok, max_new_tokens=max_new_tokens, temperature=0.0,
                                 batch_size=s.batch_size, progress=progress)

    records: list[dict] = []
    for name, problems in spec.benchmarks.items():
        shots = spec.shots.get(name, [])
        ids = [p.id for p in problems]
        shot_ids = [p.id for p in shots]
        for mode in spec.modes:
            def accuracy(problems=problems, mode=mode, shots=shots):
                attempts, correct = solve_and_grade(problems, greedy_fn(), mode, cfg, shots, 1, progress)
                return [_record(p, mode, float(ok)) for p, ok in zip(problems, correct)]
            path = checkpoint / "evals" / f"{name}_{mode}_{_key(ids, shot_ids, mode, budget)}.json"
            records += _cached(path, accuracy)
        if spec.nll:
            def nll(problems=problems, shots=shots):
                m, tok = model()
                return [_record(p, NLL, v) for p, v in zip(problems, solution_nll(m, tok, problems, shots))]
            records += _cached(checkpoint / "evals" / f"{name}_{NLL}_{_key(ids, shot_ids)}.json", nll)
    if spec.code_tasks:
        from dsmath_lib.eval.code import model_prompt

        prompts = [model_prompt(t) for t in spec.code_tasks]  # what the model sees: a harness change is a new key
        records += _cached(checkpoint / "evals" / f"code_{_key(prompts, budget)}.json",
                           lambda: _code_records(spec.code_tasks, greedy_fn(), cfg, progress))
    return records


def _record(problem: Problem, mode: str, score: float) -> dict:
    return {"benchmark": problem.benchmark, "mode": mode, "id": problem.id, "level": problem.level, "score": score}


def _code_records(tasks, generate_fn, cfg, progress: bool) -> list[dict]:
    from dsmath_lib.eval.code import evaluate_code

    passed = evaluate_code(tasks, generate_fn, timeout_s=cfg.sandbox_timeout_s, workers=cfg.grading_workers,
                           progress=progress)
    return [{"benchmark": "synth-code", "mode": CODE, "id": t.id, "level": t.level, "score": float(ok)}
            for t, ok in zip(tasks, passed)]


def summary_table(scores, by: Sequence[str] = ("model",), seed: int = 0):
    """Mean and 95% bootstrap CI over problems per `by` group and (benchmark, mode): scores as a fraction,
    NLL in nats. Several seeds of one group are averaged per problem first."""
    import pandas as pd

    rows = []
    for key, part in scores.groupby([*by, "benchmark", "mode"], sort=False):
        mean, lo, hi, n = seed_averaged_interval(part, seed)
        rows.append(dict(zip([*by, "benchmark", "mode"], key)) | {"problems": n, "mean": mean, "ci_low": lo,
                                                                   "ci_high": hi})
    return pd.DataFrame(rows)


def seed_averaged_interval(scores, seed: int = 0) -> tuple[float, float, float, int]:
    """(mean, CI low, CI high, problems) of one measure's records: each problem's score averaged over seeds,
    then the mean over problems with a 95% percentile bootstrap interval over problems."""
    from dsmath_lib.eval.metrics import bootstrap_ci

    per_problem = scores.groupby("id")["score"].mean().to_numpy()  # (P,) seed-averaged
    lo, hi = bootstrap_ci(per_problem, seed=seed)
    return float(per_problem.mean()), lo, hi, len(per_problem)
