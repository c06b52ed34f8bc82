"""Notebook 06's tables, figures and verdicts (paper §4.1.3-4.1.4, §5.2: Figures 5-6, Table 10), from runs.

    from dsmath_lib.rl.ablations import (FINDINGS, method_folder, curves, plot_curves, history_summary,
                                         data_table, cost_table, final_scores, final_table, round_gains)
    folder = method_folder(artifacts / "runs", "GRPO+PS", cfg, params.rl_ablation, instruct, params.seed)
    figure5 = curves({name: result.evals for name, result in runs.items()})    # method, step, benchmark, accuracy
    scores = final_scores({"RFT": runs["RFT"].path, ...}, spec, artifacts / "evals", params.seed)
    pretraining.judge(scores, FINDINGS, seed)                                   # the paper's claims as verdicts

Each method's run is a train_grpo run (rl.methods), so its held-out curve is its `evals` (greedy chat-CoT
accuracy at every eval_every steps). The verdicts read the final models: each saved policy is evaluated again
through the one evaluation path (eval.evaluate, cached) on the same held-out problems with the same spec as the
curves' checks (rl.trainer.policy_spec), so its records are the last curve point's, per problem, and two methods
are compared by a paired bootstrap over the same problems (pretraining.judge). "Later in training" (the paper's
online-vs-offline RFT claim) is read at the last step. The iterative claim "most in round 1" is the round-1
gain (round 1 minus the SFT model) against the round-2 gain (round 2 minus round 1), per problem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dsmath_lib.config import GRPOConfig, RLAblationConfig
from dsmath_lib.eval.evaluate import EvalSpec
from dsmath_lib.eval.intervals import format_interval, paired_difference, seed_averaged, seed_averaged_interval
from dsmath_lib.pretraining import Finding, findings_conclusion, measure_name, score_runs

FIGURE5 = ("RFT", "Online RFT", "GRPO+OS", "GRPO+PS", "DPO", "PPO")  # Figure 5's methods, its order
MODE = "cot-chat"  # the held-out checks' mode (rl.trainer.policy_spec)
BENCHMARKS = ("synth-gsm", "synth-math")  # the world's GSM8K and MATH analogues
MEASURES = tuple(measure_name(b, MODE) for b in BENCHMARKS)
SFT, ROUND1, ROUND2 = "SFT", "Iterative round 1", "Iterative round 2"

FINDINGS = [  # paper §5.2.2 (Figure 5) and §4.1.4 (Figure 6), as comparisons of final models
    Finding("Online RFT beats RFT later in training", "Online RFT", "RFT", MEASURES),
    Finding("GRPO+OS beats online RFT", "GRPO+OS", "Online RFT", MEASURES),
    Finding("GRPO+PS beats GRPO+OS", "GRPO+PS", "GRPO+OS", MEASURES),
    Finding("Iterative RL: a second round beats the first", ROUND2, ROUND1, MEASURES),
]


def method_folder(runs_dir: str | Path, method: str, cfg: GRPOConfig, abl: RLAblationConfig, start: str | Path,
                  seed: int, grpo: GRPOConfig | None = None) -> Path:
    """runs_dir/06-<method>-<digest>: the digest covers the method, cfg, abl, seed and the start's card. GRPO+OS
    with cfg equal to `grpo` (notebook 05's config) is notebook 05's own run (rl.report.run_folder): reused.

    >>> method_folder("runs", "Online RFT", GRPOConfig(), RLAblationConfig(), "nowhere", 0).name[:14]
    '06-online-rft-'
    >>> method_folder("runs", "GRPO+OS", GRPOConfig(), RLAblationConfig(), "nowhere", 0, GRPOConfig()).name[:10]
    'grpo-grpo-'
    """
    from dsmath_lib.model import read_card
    from dsmath_lib.rl.report import run_folder

    if method == "GRPO+OS" and cfg == grpo:
        return run_folder(runs_dir, cfg, start, seed)
    blob = {"method": method, "grpo": dataclasses.asdict(cfg), "ablation": dataclasses.asdict(abl), "seed": seed,
            "start": read_card(start)}
    digest = hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:12]
    slug = method.lower().replace("+", "-").replace(" ", "-")
    return Path(runs_dir) / f"06-{slug}-{digest}"


def curves(evals: Mapping[str, Sequence[dict]]) -> pd.DataFrame:
    """Held-out accuracy (%) against step, one row per (method, step, benchmark), from each run's evals.

    >>> curves({"RFT": [{"step": 0, "accuracy": 0.5, "accuracy/synth-gsm": 0.25}]}).to_dict("records")
    [{'method': 'RFT', 'step': 0, 'benchmark': 'synth-gsm', 'accuracy': 25.0}]
    """
    rows = [{"method": method, "step": int(e["step"]), "benchmark": key.split("/", 1)[1], "accuracy": 100 * value}
            for method, points in evals.items() for e in points
            for key, value in e.items() if key.startswith("accuracy/")]
    return pd.DataFrame(rows, columns=["method", "step", "benchmark", "accuracy"])


def plot_curves(table: pd.DataFrame, title: str, dashed: Sequence[str] = ("DPO", "PPO")):
    """One panel per benchmark: accuracy against step, a line per method (`dashed`: the methods outside the
    paper's own figure)."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table["benchmark"]))
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(5.2 * max(1, len(names)), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        part = table[table["benchmark"] == name]
        for method, line in part.groupby("method", sort=False):
            ax.plot(line["step"], line["accuracy"], "--" if method in dashed else "-", marker="o", ms=3,
                    label=method)
        ax.set(title=f"{title}: {name}", xlabel="step", ylabel="held-out accuracy (%)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


SUMMARY = {"reward_mean": "reward", "kl": "KL", "advantage_abs": "mean |A|", "response_length": "length",
           "zero_std_share": "all-equal groups"}  # history column -> summary name


def history_summary(histories: Mapping[str, Sequence[dict]]) -> pd.DataFrame:
    """One row per method: the mean over its first and last fifth of steps (at least one step each) of the
    reward, the KL to the reference, the mean |advantage| per token, the response length and the share of
    all-equal groups, plus median seconds per step (rollout + update).

    >>> rows = [{"reward_mean": r, "kl": 0.0, "advantage_abs": 1.0, "response_length": 9.0, "zero_std_share": 0.5,
    ...          "rollout_s": 1.0, "update_s": 2.0} for r in (0.1, 0.2, 0.3, 0.4, 0.5)]
    >>> summary = history_summary({"GRPO+OS": rows}).iloc[0]
    >>> [float(summary[c]) for c in ("reward (first fifth)", "reward (last fifth)", "step_s")]
    [0.1, 0.5, 3.0]
    """
    out = []
    for method, history in histories.items():
        frame = pd.DataFrame(history)
        k = max(1, len(frame) // 5)
        row = {"method": method, "steps": len(frame)}
        for column, name in SUMMARY.items():
            if column in frame:
                row[f"{name} (first fifth)"] = round(float(frame[column].head(k).mean()), 4)
                row[f"{name} (last fifth)"] = round(float(frame[column].tail(k).mean()), 4)
        row["step_s"] = round(float((frame["rollout_s"] + frame["update_s"]).median()), 3)
        out.append(row)
    return pd.DataFrame(out)


def data_description(method: str, history: Sequence[dict], data: Mapping[str, int]) -> str:
    """What a run trained on, in words, from its history's `outputs` and an offline method's dataset sizes.

    >>> data_description("RFT", [{"outputs": 4}, {"outputs": 4}], {"sampled": 32, "correct": 9})
    '9 correct of 32 SFT samples; 8 outputs trained on'
    >>> data_description("DPO", [{"outputs": 4}], {"sampled": 32, "pairs": 5})
    '5 (o+, o-) pairs from 32 SFT samples; 2 pairs trained on'
    >>> data_description("GRPO+OS", [{"outputs": 128}] * 3, {})
    '384 outputs sampled from the policy and trained on'
    """
    outputs = int(sum(h.get("outputs", 0) for h in history))
    if "pairs" in data:
        return f"{data['pairs']} (o+, o-) pairs from {data['sampled']} SFT samples; {outputs // 2} pairs trained on"
    if "correct" in data:
        return f"{data['correct']} correct of {data['sampled']} SFT samples; {outputs} outputs trained on"
    return f"{outputs} outputs sampled from the policy and trained on"


def data_table(paradigm: pd.DataFrame, runs: Mapping[str, object]) -> pd.DataFrame:
    """Table 10 (rl.paradigm.paradigm_table) with each method's measured data and steps; `runs` maps a
    method to its GRPOResult (SFT, notebook 04's, has none here)."""
    rows = []
    for row in paradigm.to_dict("records"):
        result = runs.get(row["method"])
        measured = ({"data (measured)": data_description(row["method"], result.history, result.data),
                     "steps": len(result.history)} if result is not None else
                    {"data (measured)": "notebook 04 (SFT data)", "steps": float("nan")})
        rows.append(row | measured)
    return pd.DataFrame(rows)


def cost_table(grpo, ppo, sft) -> pd.DataFrame:
    """GRPO+OS against PPO from their own runs (the same questions, G, batch and max length): median seconds
    per step (rollout, update), mean response length, and the training state in MB (rl.ppo_trainer's count:
    weights of every model held, gradients and AdamW moments of the trained ones; PPO trains a value model).
    Per-process peak RSS needs a process per method: bench/bench_ppo_vs_grpo.py."""
    from dsmath_lib.rl.ppo_trainer import training_state_bytes

    rows = []
    for name, result, trained in (("GRPO", grpo, [grpo.policy]), ("PPO", ppo, [ppo.policy, ppo.value])):
        frame = pd.DataFrame(result.history)
        rows.append({"method": name, "step_s": frame["rollout_s"].median() + frame["update_s"].median(),
                     "rollout_s": frame["rollout_s"].median(), "update_s": frame["update_s"].median(),
                     "response_length": frame["response_length"].mean(), "models held": 2 + (name == "PPO"),
                     "state_mb": training_state_bytes(trained, [sft]) / 2**20})
    table = pd.DataFrame(rows)
    ratio = {"method": "PPO / GRPO"} | {c: table[c].iloc[1] / table[c].iloc[0] for c in table.columns[1:]}
    return pd.concat([table, pd.DataFrame([ratio])], ignore_index=True).round(3)


def final_scores(paths: Mapping[str, str | Path], spec: EvalSpec, cache_dir: str | Path | None,
                 seed: int) -> pd.DataFrame:
    """Each method's saved model (or the SFT checkpoint) evaluated on `spec`: its Records plus arm = the
    method's name and seed, the frame pretraining.judge reads."""
    return score_runs({(name, seed): [Path(path)] for name, path in paths.items()}, spec, cache_dir)


def final_table(scores: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Accuracy (%) of each arm on each measure with its 95% bootstrap interval over problems, in the
    layout pretraining.findings_conclusion reads ("setting", "<measure> (ours)")."""
    rows = []
    for arm, part in scores.groupby("arm", sort=False):
        row = {"setting": arm}
        for (benchmark, mode), cell in part.groupby(["benchmark", "mode"], sort=False):
            mean, lo, hi, _ = seed_averaged_interval(cell, seed)
            row[f"{measure_name(benchmark, mode)} (ours)"] = format_interval(mean, lo, hi)
        rows.append(row)
    return pd.DataFrame(rows)


def round_gains(scores: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Iterative RL per measure: the round-1 gain (round 1 minus SFT), the round-2 gain (round 2 minus round 1),
    and round-1 gain minus round-2 gain, each in points with its paired 95% interval over the same problems;
    'most in round 1' is reproduced when the last interval lies above 0."""
    rows = []
    for (benchmark, mode), part in scores.groupby(["benchmark", "mode"], sort=False):
        arm = {name: seed_averaged(part[part["arm"] == name]) for name in (SFT, ROUND1, ROUND2)}
        first, second = arm[ROUND1] - arm[SFT].reindex(arm[ROUND1].index), arm[ROUND2] - arm[ROUND1]
        for label, a, b in (("round 1 gain (round 1 minus SFT)", arm[ROUND1], arm[SFT]),
                            ("round 2 gain (round 2 minus round 1)", arm[ROUND2], arm[ROUND1]),
                            ("round 1 gain minus round 2 gain", first, second)):
            d = paired_difference(a, b, seed)
            rows.append({"measure": measure_name(benchmark, mode), "comparison": label,
                         "points": round(100 * d.mean, 2), "ci_low": round(100 * d.ci_low, 2),
                         "ci_high": round(100 * d.ci_high, 2), "verdict": _verdict(d.ci_low, d.ci_high)})
    return pd.DataFrame(rows)


def _verdict(lo: float, hi: float) -> str:
    return "no spread" if lo == hi == 0 else "above 0" if lo > 0 else "below 0" if hi < 0 else "spans 0"


def rounds_conclusion(gains: pd.DataFrame) -> str:
    """One bullet on 'iterative RL helps most in round 1', from round_gains.

    >>> gains = pd.DataFrame({"measure": ["GSM8K cot-chat"], "comparison": ["round 1 gain minus round 2 gain"],
    ...                       "points": [2.0], "ci_low": [0.5], "ci_high": [3.5], "verdict": ["above 0"]})
    >>> print(rounds_conclusion(gains))
    - **Iterative RL gains most in round 1**: round 1 gain minus round 2 gain on GSM8K cot-chat +2.00 points [95% CI +0.50, +3.50] (above 0: reproduced).
    """
    rows = gains[gains["comparison"] == "round 1 gain minus round 2 gain"].to_dict("records")
    words = {"above 0": "reproduced", "below 0": "reversed", "spans 0": "not resolved", "no spread": "not resolved"}
    parts = [f"round 1 gain minus round 2 gain on {r['measure']} {r['points']:+.2f} points "
             f"[95% CI {r['ci_low']:+.2f}, {r['ci_high']:+.2f}] ({r['verdict']}: {words[r['verdict']]})" for r in rows]
    return "- **Iterative RL gains most in round 1**: " + "; ".join(parts) + "."


def prm_table(rows: Mapping[str, Mapping[str, float]], examples: Mapping[str, int]) -> pd.DataFrame:
    """One row per PRM state: its held-out step-label accuracy (%), AUC, step count and positive share
    (rl.prm.prm_metrics), and how many labelled solutions it was trained on.

    >>> prm_table({"initial": {"accuracy": 0.75, "auc": 0.8, "steps": 40, "positive_share": 0.25}},
    ...           {"initial": 128}).to_dict("records")
    [{'PRM': 'initial', 'accuracy': 75.0, 'auc': 0.8, 'steps': 40, 'positive_share': 25.0, 'trained on': 128}]
    """
    return pd.DataFrame([{"PRM": name, "accuracy": round(100 * m["accuracy"], 2), "auc": round(m["auc"], 4),
                          "steps": int(m["steps"]), "positive_share": round(100 * m["positive_share"], 2),
                          "trained on": examples[name]} for name, m in rows.items()])


def _coefficient_sentence(summary: pd.DataFrame) -> str:
    """GRPO+PS's coefficient and KL beside GRPO+OS's, over the whole run (the mean of both fifths)."""
    rows = summary.set_index("method")
    if not {"GRPO+OS", "GRPO+PS"} <= set(rows.index) or "mean |A| (first fifth)" not in rows:
        return ""
    size = {m: (rows.loc[m, "mean |A| (first fifth)"] + rows.loc[m, "mean |A| (last fifth)"]) / 2 for m in rows.index}
    return (f"- **Process against outcome coefficients**: GRPO+PS's mean |advantage| per token was "
            f"{size['GRPO+PS']:.3f} against GRPO+OS's {size['GRPO+OS']:.3f} (the first and last fifth of steps "
            f"averaged), and its KL to the reference in the last fifth {rows.loc['GRPO+PS', 'KL (last fifth)']:.4f} "
            f"against {rows.loc['GRPO+OS', 'KL (last fifth)']:.4f}.")


def conclusion(verdicts: pd.DataFrame, table: pd.DataFrame, gains: pd.DataFrame, cost: pd.DataFrame,
               prm: pd.DataFrame, summary: pd.DataFrame | None = None) -> str:
    """Notebook 06's conclusion as markdown, every figure read from its tables: the Figure 5 / 6 verdicts
    (pretraining.findings_conclusion), the round-1-versus-round-2 gain, GRPO+PS's coefficient size against
    GRPO+OS's (history_summary, when given), PPO's cost over GRPO's, the PRM's held-out quality, and the range
    of accuracy."""
    ratio, rows = cost.set_index("method").loc["PPO / GRPO"], cost.set_index("method")
    first = prm.iloc[0]
    *claims, accuracy_range = findings_conclusion(verdicts, table).splitlines()
    coefficients = _coefficient_sentence(summary) if summary is not None else ""
    return "\n".join([
        *claims, rounds_conclusion(gains), *([coefficients] if coefficients else []),
        f"- **PPO against GRPO** (same questions, G and lengths): {rows.loc['PPO', 'step_s']:.2f} s against "
        f"{rows.loc['GRPO', 'step_s']:.2f} s per step (x{ratio['step_s']:.2f}) and {rows.loc['PPO', 'state_mb']:.1f} "
        f"against {rows.loc['GRPO', 'state_mb']:.1f} MB of training state (x{ratio['state_mb']:.2f}): the value "
        "model is the difference.",
        f"- **The process reward model** ({first['PRM']}) labels held-out steps {first['accuracy']:.1f}% right "
        f"with AUC {first['auc']:.3f} on {first['steps']} steps, {first['positive_share']:.1f}% of them positive.",
        accuracy_range])
