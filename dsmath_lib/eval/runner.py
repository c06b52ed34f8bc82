"""The evaluation loop: every checkpoint on every benchmark, greedy top-1 plus samples for Maj@K / Pass@K.

    from dsmath_lib.eval.runner import find_checkpoints, load_eval_benchmarks, load_shot_pool, evaluate_checkpoints
    checkpoints = find_checkpoints(artifacts / "checkpoints", params.eval.pretrained)
    benchmarks = load_eval_benchmarks(params.eval, artifacts / "world")
    train = load_shot_pool(artifacts / "world")
    runs = evaluate_checkpoints(checkpoints, benchmarks, train, params)      # list[EvalRun]
    accuracy_table(runs); level_table(runs); curves_table(runs); plot_k_curves(curves_table(runs))
    evaluate(problems, "cot-chat", greedy_fn, sample_fn, params.eval)        # one (model, benchmark, mode)

A checkpoint is evaluated in the modes of its training stage (dsmath.json "stage"): base models (and the
untrained "init" floor) with few-shot CoT, as the paper's Table 2 does; instruction and RL models zero-shot
in chat format, with CoT and tool-integrated prompting, as in Table 5. For each (checkpoint, benchmark, mode)
the loop samples one greedy answer per problem (top-1 accuracy, with a bootstrap CI over problems) and
`n_samples` answers at sampling.temperature (Figure 7's Maj@K and Pass@K for K = 1, 2, 4, ... max_k). Every
attempt becomes a record (question id, benchmark, level, mode, output, extracted answer, gold, correct).
The model enters as a `generate_fn(prompts, stop) -> list[str]` (prompting.py), so the same loop grades
a scripted fake in the tests and dsmath_lib.sampling.generate here.

Departures from the paper at small scale: far fewer samples (K up to eval.max_k = 8 at tiny scale, not 64), a subset of
each test set (params eval.n_problems), few-shot examples drawn from the easiest level of the world's train
split (so that they fit the small context), and generation budgets of 64-256 new tokens rather than 1024.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from dsmath_lib.config import EvalConfig, ModelConfig, Params
from dsmath_lib.data import SYNTH_BENCHMARKS, load_benchmark, read_jsonl
from dsmath_lib.eval.grading import grade_many, is_equiv
from dsmath_lib.eval.metrics import (answer_classes, bootstrap_ci, maj_at_k_curve, maj_at_k_problem,
                                     pass_at_k_curve)
from dsmath_lib.eval.prompting import Attempt, GenerateFn, select_shots, solve
from dsmath_lib.paper_numbers import TABLE5
from dsmath_lib.problem import Problem

STAGE_MODES = {  # prompting modes per training stage (paper Table 2 for base models, Table 5 for the rest)
    "init": ("cot-fewshot",),
    "base": ("cot-fewshot",),
    "instruct": ("cot-chat", "tool-chat"),
    "rl": ("cot-chat", "tool-chat"),
}
SETTING = {"cot-fewshot": "few-shot CoT", "cot-chat": "CoT", "pot": "PoT", "tool-chat": "tool-integrated"}
PAPER_COLUMN = {"synth-gsm": "GSM8K", "gsm8k": "GSM8K", "synth-math": "MATH", "math": "MATH", "math500": "MATH"}
PAPER_TABLE5 = TABLE5  # PAPER.md §6 (Table 5) and Table 2's base row


@dataclass(frozen=True)
class Checkpoint:
    """A model to evaluate: a folder written by model.save_model, or a hub name (`pretrained`)."""

    name: str
    path: str
    stage: str
    description: str = ""

    @property
    def modes(self) -> tuple[str, ...]:
        if self.stage not in STAGE_MODES:
            raise ValueError(f"checkpoint {self.name} ({self.path}): unknown stage {self.stage!r} in its "
                             f"dsmath.json (known: {', '.join(STAGE_MODES)})")
        return STAGE_MODES[self.stage]


@dataclass
class EvalRun:
    """One (checkpoint, benchmark, mode): per-attempt records and the Maj@K / Pass@K curves over ks."""

    checkpoint: str
    benchmark: str
    mode: str
    records: list[dict]  # greedy attempts first (decoding "greedy"), then samples (decoding "sample")
    ks: list[int] = field(default_factory=list)
    maj: list[float] = field(default_factory=list)  # Maj@K, aligned with ks
    pass_: list[float] = field(default_factory=list)  # Pass@K, aligned with ks
    maj_top: list[float] = field(default_factory=list)  # per problem: Maj@K at the largest K (mean = maj[-1])

    def greedy_correct(self) -> list[bool]:
        return [r["correct"] for r in self.records if r["decoding"] == "greedy"]


# ---------------------------------------------------------------------------------------------------------
# Inputs: checkpoints, benchmarks, shots, the model as a generate_fn


def find_checkpoints(folder: str | Path, pretrained: str = "") -> list[Checkpoint]:
    """Every saved model under `folder` (one sub-folder each, with config.json), sorted by name, plus the
    named `pretrained` model (stage "base") when given. Raises when there is none at all."""
    from dsmath_lib.model import read_card

    folder = Path(folder)
    found = []
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (sub / "config.json").is_file() and not sub.name.startswith("."):
            card = read_card(sub)
            if "stage" not in card:
                raise ValueError(f"{sub}/dsmath.json: missing 'stage' (init, base, instruct or rl)")
            found.append(Checkpoint(card.get("name", sub.name), str(sub), card["stage"], card.get("description", "")))
    if pretrained:
        found.append(Checkpoint(pretrained.rstrip("/").split("/")[-1], pretrained, "base", "named pretrained model"))
    if not found:
        raise FileNotFoundError(f"{folder}: no checkpoints; run notebook 00_world first (it saves checkpoints/init)")
    return found


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


def model_generate_fn(model, tokenizer, *, max_new_tokens: int, temperature: float, top_p: float = 1.0,
                      batch_size: int = 64, seed: int = 0, progress: bool = True) -> GenerateFn:
    """sampling.generate as prompting's `generate_fn(prompts, stop) -> list[str]`.

    Each call uses the next seed (seed, seed + 1, ...), so the rounds of tool-integrated prompting do not
    replay one random stream; temperature 0 is greedy and ignores the seed."""
    from dsmath_lib.sampling import generate

    calls = itertools.count()

    def generate_fn(prompts: list[str], stop: list[str]) -> list[str]:
        completions = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                               top_p=top_p, stop=stop, seed=seed + next(calls), batch_size=batch_size,
                               progress=progress)
        return [c.text for c in completions]

    return generate_fn


def load_checkpoint(checkpoint: Checkpoint, dtype: str = "float32"):
    """(model, tokenizer) for a saved folder, or a hub model by name (HF cache when offline)."""
    from dsmath_lib.model import build_model, load_model
    from dsmath_lib.tokenizer import load_tokenizer

    if Path(checkpoint.path).is_dir():
        return load_model(checkpoint.path, dtype=dtype)
    tokenizer = load_tokenizer(checkpoint.path)
    return build_model(ModelConfig(pretrained=checkpoint.path, dtype=dtype), tokenizer).eval(), tokenizer


# ---------------------------------------------------------------------------------------------------------
# The loop


def k_values(n_samples: int, max_k: int) -> list[int]:
    """K on Figure 7's log2 axis: 1, 2, 4, ... up to min(n_samples, max_k), which is always included.

    >>> k_values(64, 64), k_values(12, 64), k_values(0, 8)
    ([1, 2, 4, 8, 16, 32, 64], [1, 2, 4, 8, 12], [])
    """
    top = min(n_samples, max_k)
    ks = [2 ** i for i in range(top.bit_length()) if 2 ** i <= top] if top > 0 else []
    return ks + [top] if ks and ks[-1] != top else ks


def attempt_records(attempts: Sequence[Attempt], correct: Sequence[bool], problems: Sequence[Problem],
                    checkpoint: str, mode: str, decoding: str) -> list[dict]:
    """One JSON-ready dict per attempt (attempts in solve's order, correct aligned with them)."""
    by_id = {p.id: p for p in problems}
    return [{"checkpoint": checkpoint, "benchmark": by_id[a.problem_id].benchmark, "id": a.problem_id,
             "level": by_id[a.problem_id].level, "subject": by_id[a.problem_id].subject, "mode": mode,
             "decoding": decoding, "sample": a.sample, "output": a.output, "answer": a.answer,
             "gold": by_id[a.problem_id].answer, "correct": bool(ok), "executions": a.executions}
            for a, ok in zip(attempts, correct)]


def solve_and_grade(problems, generate_fn, mode, cfg, shots, samples, progress):
    """solve() then grade_many() with the eval params' sandbox and grading limits; (attempts, correct)."""
    attempts = solve(problems, generate_fn, mode, shots=shots, samples=samples, max_executions=cfg.max_executions,
                     timeout_s=cfg.sandbox_timeout_s, workers=cfg.grading_workers)
    gold = {p.id: p.answer for p in problems}
    correct = grade_many([a.answer for a in attempts], [gold[a.problem_id] for a in attempts],
                         workers=cfg.grading_workers, timeout_s=cfg.grading_timeout_s, progress=progress)
    return attempts, correct


def evaluate(problems: Sequence[Problem], mode: str, greedy_fn: GenerateFn, sample_fn: GenerateFn | None,
             cfg: EvalConfig, shots: Sequence[Problem] = (), checkpoint: str = "", progress: bool = False,
             seed: int = 0) -> EvalRun:
    """Greedy top-1 on every problem, then cfg.n_samples samples each (skipped when sample_fn is None or
    n_samples is 0), graded; Maj@K and Pass@K over k_values(n_samples, max_k)."""
    problems = list(problems)
    attempts, correct = solve_and_grade(problems, greedy_fn, mode, cfg, shots, 1, progress)
    run = EvalRun(checkpoint, problems[0].benchmark if problems else "", mode,
                  attempt_records(attempts, correct, problems, checkpoint, mode, "greedy"))
    n = cfg.n_samples
    if sample_fn is None or n == 0 or not problems:
        return run
    attempts, correct = solve_and_grade(problems, sample_fn, mode, cfg, shots, n, progress)
    run.records += attempt_records(attempts, correct, problems, checkpoint, mode, "sample")
    run.ks = k_values(n, cfg.max_k)
    run.pass_ = pass_at_k_curve(np.reshape(correct, (len(problems), n)), run.ks).tolist()  # (P, n) -> (K,)
    equiv = functools.partial(is_equiv, timeout_s=cfg.grading_timeout_s)
    classes = [answer_classes([a.answer for a in attempts[i * n:(i + 1) * n]], p.answer, equiv=equiv)
               for i, p in enumerate(problems)]
    run.maj = maj_at_k_curve(classes, run.ks, resamples=cfg.maj_resamples, seed=seed).tolist()
    run.maj_top = [float(maj_at_k_problem(c, run.ks[-1:], cfg.maj_resamples, [seed, i])[0])
                   for i, c in enumerate(classes)]  # the same draws as maj_at_k_curve: bootstrap-ready
    return run


def evaluate_checkpoints(checkpoints: Sequence[Checkpoint], benchmarks: dict[str, list[Problem]],
                         train: Sequence[Problem], params: Params) -> list[EvalRun]:
    """evaluate() for every checkpoint x benchmark x mode of the checkpoint's stage, one model load each."""
    cfg, s = params.eval, params.sampling
    runs = []
    jobs = [(c, b, m) for c in checkpoints for b in benchmarks for m in c.modes]
    bar = tqdm(total=len(jobs), desc="evaluations")
    for checkpoint in checkpoints:
        model, tokenizer = load_checkpoint(checkpoint, params.model.dtype)
        common = dict(max_new_tokens=s.max_new_tokens, top_p=s.top_p, batch_size=s.batch_size, seed=params.seed)
        greedy_fn = model_generate_fn(model, tokenizer, temperature=0.0, **common)
        sample_fn = model_generate_fn(model, tokenizer, temperature=s.temperature, **common)
        for name, problems in benchmarks.items():
            for mode in checkpoint.modes:
                bar.set_postfix_str(f"{checkpoint.name} {name} {mode}")
                shots = shots_for(name, train, cfg.n_shots, params.seed) if mode == "cot-fewshot" else ()
                runs.append(evaluate(problems, mode, greedy_fn, sample_fn, cfg, shots, checkpoint.name,
                                     progress=True, seed=params.seed))
                bar.update(1)
        del model
    bar.close()
    return runs


# ---------------------------------------------------------------------------------------------------------
# Outputs: item logs, tables, the figure, the paper's numbers, tracker metrics


def save_items(runs: Sequence[EvalRun], folder: str | Path) -> list[Path]:
    """Write each run's records to <folder>/items_<checkpoint>_<benchmark>_<mode>.jsonl."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs:
        path = folder / f"items_{run.checkpoint}_{run.benchmark}_{run.mode}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in run.records))
        written.append(path)
    return written


def accuracy_table(runs: Sequence[EvalRun], seed: int = 0) -> pd.DataFrame:
    """One row per run: greedy accuracy with its 95% bootstrap CI, and Maj@K / Pass@K at the largest K."""
    rows = []
    for run in runs:
        greedy = run.greedy_correct()
        lo, hi = bootstrap_ci(greedy, seed=seed) if greedy else (float("nan"), float("nan"))
        rows.append({"checkpoint": run.checkpoint, "benchmark": run.benchmark, "mode": run.mode,
                     "problems": len(greedy), "greedy": float(np.mean(greedy)) if greedy else float("nan"),
                     "ci_low": lo, "ci_high": hi, "max_k": run.ks[-1] if run.ks else 0,
                     "maj@max_k": run.maj[-1] if run.maj else float("nan"),
                     "pass@max_k": run.pass_[-1] if run.pass_ else float("nan")})
    return pd.DataFrame(rows)


def level_table(runs: Sequence[EvalRun]) -> pd.DataFrame:
    """Greedy accuracy per difficulty level: one row per (checkpoint, benchmark, mode, level)."""
    greedy = pd.DataFrame([r for run in runs for r in run.records if r["decoding"] == "greedy"])
    if greedy.empty:
        return pd.DataFrame(columns=["checkpoint", "benchmark", "mode", "level", "problems", "greedy"])
    greedy["level"] = greedy["level"].fillna(0).astype(int)  # 0: the source gives no level
    return (greedy.groupby(["checkpoint", "benchmark", "mode", "level"], sort=True)["correct"]
            .agg(problems="size", greedy="mean").reset_index())


def curves_table(runs: Sequence[EvalRun]) -> pd.DataFrame:
    """Maj@K and Pass@K in long form: one row per (checkpoint, benchmark, mode, K)."""
    return pd.DataFrame([{"checkpoint": run.checkpoint, "benchmark": run.benchmark, "mode": run.mode, "k": k,
                          "maj@k": m, "pass@k": p} for run in runs for k, m, p in zip(run.ks, run.maj, run.pass_)],
                        columns=["checkpoint", "benchmark", "mode", "k", "maj@k", "pass@k"])


def plot_k_curves(curves: pd.DataFrame):
    """Figure 7's layout: one panel per benchmark; per checkpoint and mode, Maj@K (solid) and Pass@K
    (dashed) against K on a log2 axis."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(curves["benchmark"])) or ["(no samples)"]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        panel = curves[curves["benchmark"] == name]
        for i, ((ckpt, mode), line) in enumerate(panel.groupby(["checkpoint", "mode"])):
            ax.plot(line["k"], 100 * line["maj@k"], "-o", color=f"C{i}", ms=3, label=f"{ckpt} {mode} Maj@K")
            ax.plot(line["k"], 100 * line["pass@k"], "--s", color=f"C{i}", ms=3, label=f"{ckpt} {mode} Pass@K")
        ks = sorted(set(panel["k"]))
        top = 100 * float(panel[["maj@k", "pass@k"]].to_numpy().max()) if len(panel) else 0.0
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        # small models score a few percent: a 0-100 axis would flatten every curve onto the floor
        ax.set(title=name, xlabel="K (samples)", ylabel="accuracy (%)", ylim=(-1, min(100, max(5.0, 1.15 * top))))
        if len(panel):
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def paper_comparison(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 5 (and Table 2's base row) beside our greedy accuracies, in %, one row per
    (source, setting, model); our benchmarks are mapped onto the paper's GSM8K / MATH columns."""
    paper = pd.DataFrame(PAPER_TABLE5, columns=["setting", "model", "GSM8K", "MATH"]).assign(
        source="paper (7B, real GSM8K / MATH)")
    ours = accuracy.assign(setting=accuracy["mode"].map(SETTING), column=accuracy["benchmark"].map(PAPER_COLUMN),
                           value=100 * accuracy["greedy"])
    ours = ours.pivot_table(index=["setting", "checkpoint"], columns="column", values="value", sort=False)
    ours = ours.reset_index().rename(columns={"checkpoint": "model"}).assign(source="ours (simulated world)")
    frame = pd.concat([paper, ours], ignore_index=True)
    return frame[["source", "setting", "model"] + [c for c in ("GSM8K", "MATH") if c in frame]].round(1)


def tracker_metrics(runs: Sequence[EvalRun]) -> dict[str, float]:
    """Flat metrics for wandb: <checkpoint>/<benchmark>/<mode>/{greedy, maj@K, pass@K}.

    >>> run = EvalRun("init", "b", "cot-chat", [{"decoding": "greedy", "correct": True}], [1], [0.5], [0.5])
    >>> tracker_metrics([run])
    {'init/b/cot-chat/greedy': 1.0, 'init/b/cot-chat/maj@1': 0.5, 'init/b/cot-chat/pass@1': 0.5}
    """
    out = {}
    for run in runs:
        key = f"{run.checkpoint}/{run.benchmark}/{run.mode}"
        greedy = run.greedy_correct()
        if greedy:
            out[f"{key}/greedy"] = float(np.mean(greedy))
        for k, m, p in zip(run.ks, run.maj, run.pass_):
            out[f"{key}/maj@{k}"], out[f"{key}/pass@{k}"] = float(m), float(p)
    return out


def conclusion(accuracy: pd.DataFrame) -> str:
    """A sentence per run read from the accuracy table, for the notebook's closing cell."""
    lines = []
    for r in accuracy.to_dict("records"):
        line = (f"{r['checkpoint']} on {r['benchmark']} ({r['mode']}): greedy {100 * r['greedy']:.1f}% "
                f"[95% CI {100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}] over {r['problems']} problems")
        if r["max_k"]:
            line += (f"; Maj@{r['max_k']} {100 * r['maj@max_k']:.1f}%, Pass@{r['max_k']} {100 * r['pass@max_k']:.1f}% "
                     f"(Pass@K minus Maj@K: {100 * (r['pass@max_k'] - r['maj@max_k']):+.1f} points)")
        lines.append(line + ".")
    return "\n".join(lines)
