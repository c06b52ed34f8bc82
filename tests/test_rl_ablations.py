"""Tests for dsmath_lib.rl.ablations (notebook 06's tables and verdicts): run folders are content-addressed and
GRPO+OS reuses notebook 05's run, curves come from the runs' evals, Table 10 carries each run's measured data,
the PPO-vs-GRPO table counts the value model, and the verdicts (judge, round gains) are paired over problems."""

import doctest

import pandas as pd
import pytest
import torch

from dsmath_lib.config import GRPOConfig, RLAblationConfig
from dsmath_lib.pretraining import judge
from dsmath_lib.rl import ablations as A
from dsmath_lib.rl.paradigm import paradigm_table
from dsmath_lib.rl.report import run_folder
from dsmath_lib.rl.trainer import GRPOResult


def test_method_folders_are_content_addressed(tmp_path):
    cfg, abl = GRPOConfig(steps=3), RLAblationConfig()
    rft = A.method_folder(tmp_path, "RFT", cfg, abl, tmp_path, 0)
    assert rft == A.method_folder(tmp_path, "RFT", cfg, abl, tmp_path, 0)
    assert rft != A.method_folder(tmp_path, "RFT", cfg, RLAblationConfig(prm_lr=1.0), tmp_path, 0)
    assert rft != A.method_folder(tmp_path, "RFT", cfg, abl, tmp_path, 1)
    assert rft != A.method_folder(tmp_path, "DPO", cfg, abl, tmp_path, 0)
    # GRPO+OS under notebook 05's own config is 05's run; under another config it is a run of its own
    assert A.method_folder(tmp_path, "GRPO+OS", cfg, abl, tmp_path, 0, grpo=cfg) == run_folder(tmp_path, cfg, tmp_path, 0)
    assert A.method_folder(tmp_path, "GRPO+OS", cfg, abl, tmp_path, 0, grpo=GRPOConfig()).name.startswith("06-grpo-os-")


def test_curves_and_their_figure():
    evals = {"RFT": [{"step": 0, "accuracy": 0.3, "accuracy/synth-gsm": 0.2, "accuracy/synth-math": 0.4},
                     {"step": 5, "accuracy": 0.4, "accuracy/synth-gsm": 0.3, "accuracy/synth-math": 0.5}],
             "PPO": [{"step": 0, "accuracy": 0.3, "accuracy/synth-gsm": 0.2, "accuracy/synth-math": 0.4}]}
    table = A.curves(evals)
    assert len(table) == 6 and set(table["benchmark"]) == {"synth-gsm", "synth-math"}
    assert table.query("method == 'RFT' and step == 5 and benchmark == 'synth-math'")["accuracy"].item() == 50.0
    figure = A.plot_curves(table, "Figure 5")
    assert len(figure.axes) == 2 and [len(ax.lines) for ax in figure.axes] == [2, 2]
    assert figure.axes[0].lines[1].get_linestyle() == "--"  # PPO: not in the paper's figure


def result(outputs, data=None, policy=None):
    history = [{"outputs": n, "rollout_s": 1.0 + i, "update_s": 2.0, "response_length": 10.0}
               for i, n in enumerate(outputs)]
    return GRPOResult(policy or torch.nn.Linear(2, 2), history, [], None, data or {})


def test_table_10_carries_each_runs_measured_data():
    runs = {"RFT": result([4, 4], {"sampled": 32, "correct": 9}), "DPO": result([6], {"sampled": 32, "pairs": 3}),
            "GRPO+OS": result([16, 16, 16])}
    table = A.data_table(paradigm_table(), runs).set_index("method")
    assert list(table.index) == list(paradigm_table()["method"])
    assert table.loc["RFT", "data (measured)"] == "9 correct of 32 SFT samples; 8 outputs trained on"
    assert table.loc["DPO", "data (measured)"].startswith("3 (o+, o-) pairs") and table.loc["DPO", "steps"] == 1
    assert table.loc["GRPO+OS", "steps"] == 3 and table.loc["GRPO+OS", "data (measured)"].startswith("48 outputs")
    assert pd.isna(table.loc["PPO", "steps"]) and pd.isna(table.loc["SFT", "steps"])  # no run given


def test_cost_table_counts_the_value_model():
    sft = torch.nn.Linear(10, 10, bias=False)  # 100 float32 weights = 400 bytes
    grpo = result([8, 8], policy=torch.nn.Linear(10, 10, bias=False))
    ppo = result([8, 8], policy=torch.nn.Linear(10, 10, bias=False))
    ppo.value = torch.nn.Linear(10, 10, bias=False)
    table = A.cost_table(grpo, ppo, sft).set_index("method")
    mb = 400 / 2**20
    assert table.loc["GRPO", "state_mb"] == pytest.approx(5 * mb, abs=1e-3)  # 4 x policy + the frozen reference
    assert table.loc["PPO", "state_mb"] == pytest.approx(9 * mb, abs=1e-3)  # + 4 x value model
    assert table.loc["PPO / GRPO", "state_mb"] == pytest.approx(9 / 5, abs=1e-3)
    assert table.loc["GRPO", "step_s"] == 1.5 + 2.0  # medians of rollout (1, 2) and update


def scores_frame(arms: dict[str, list[float]], benchmark="synth-gsm") -> pd.DataFrame:
    rows = [{"arm": arm, "seed": 0, "benchmark": benchmark, "mode": "cot-chat", "id": f"p{i}", "score": s}
            for arm, scores in arms.items() for i, s in enumerate(scores)]
    return pd.DataFrame(rows)


def test_final_table_and_verdicts_are_paired_over_problems():
    n = 60
    scores = scores_frame({"RFT": [0.0] * n, "Online RFT": [1.0] * (n // 2) + [0.0] * (n // 2),
                           "GRPO+OS": [1.0] * (n // 2) + [0.0] * (n // 2), "GRPO+PS": [0.0] * n,
                           A.ROUND1: [0.0] * n, A.ROUND2: [0.0] * n})
    table = A.final_table(scores).set_index("setting")
    assert table.loc["Online RFT", "GSM8K cot-chat (ours)"].startswith("50.0 [")
    verdicts = judge(scores, A.FINDINGS).set_index("claim")
    assert verdicts.loc[A.FINDINGS[0].claim, "verdict"] == "reproduced"  # online RFT 50% vs RFT 0%
    assert verdicts.loc[A.FINDINGS[1].claim, "gain"] == 0.0  # the same problems right: no difference
    assert verdicts.loc[A.FINDINGS[2].claim, "verdict"] == "reversed"  # GRPO+PS 0% below GRPO+OS 50%


def test_round_gains_compare_round_one_with_round_two():
    n = 80
    half = [1.0] * (n // 2) + [0.0] * (n // 2)
    scores = scores_frame({A.SFT: [0.0] * n, A.ROUND1: half, A.ROUND2: half})
    gains = A.round_gains(scores).set_index("comparison")
    assert gains.loc["round 1 gain (round 1 minus SFT)", "points"] == 50.0
    assert gains.loc["round 2 gain (round 2 minus round 1)", "verdict"] == "no spread"
    assert gains.loc["round 1 gain minus round 2 gain", "verdict"] == "above 0"
    assert "reproduced" in A.rounds_conclusion(gains.reset_index())


def test_conclusion_reads_every_table():
    scores = scores_frame({"RFT": [0.0] * 40, "Online RFT": [1.0] * 20 + [0.0] * 20})
    verdicts, table = judge(scores, A.FINDINGS[:1]), A.final_table(scores)
    gains = pd.DataFrame({"measure": ["GSM8K cot-chat"], "comparison": ["round 1 gain minus round 2 gain"],
                          "points": [-1.0], "ci_low": [-3.0], "ci_high": [1.0], "verdict": ["spans 0"]})
    cost = pd.DataFrame({"method": ["GRPO", "PPO", "PPO / GRPO"], "step_s": [1.0, 2.5, 2.5],
                         "state_mb": [10.0, 18.0, 1.8]})
    prm = A.prm_table({"initial": {"accuracy": 0.8, "auc": 0.75, "steps": 100, "positive_share": 0.3}}, {"initial": 5})
    lines = A.conclusion(verdicts, table, gains, cost, prm).splitlines()
    assert lines[0].startswith("- **Online RFT beats RFT later in training**: reproduced")
    assert "Iterative RL gains most in round 1" in lines[1] and "not resolved" in lines[1]
    assert "2.50 s against 1.00 s per step (x2.50)" in lines[2] and "18.0 against 10.0 MB" in lines[2]
    assert "80.0% right with AUC 0.750 on 100 steps" in lines[3]
    assert lines[4].startswith("- Accuracy across the 2 settings")
    row = {"reward_mean": 0.5, "response_length": 9.0, "zero_std_share": 0.0, "rollout_s": 1.0, "update_s": 1.0}
    summary = A.history_summary({"GRPO+OS": [row | {"advantage_abs": 0.5, "kl": 0.01}] * 5,
                                 "GRPO+PS": [row | {"advantage_abs": 2.0, "kl": 0.04}] * 5})
    lines = A.conclusion(verdicts, table, gains, cost, prm, summary).splitlines()
    assert "GRPO+PS's mean |advantage| per token was 2.000 against GRPO+OS's 0.500" in lines[2]
    assert "last fifth 0.0400 against 0.0100" in lines[2]


def test_history_summary_reads_first_and_last_fifth():
    history = [{"reward_mean": float(s), "kl": 0.0, "advantage_abs": 1.0, "response_length": 10.0 + s,
                "zero_std_share": 0.0, "rollout_s": 0.5, "update_s": 1.0} for s in range(10)]
    row = A.history_summary({"RFT": history}).iloc[0]
    assert row["steps"] == 10 and row["reward (first fifth)"] == 0.5 and row["reward (last fifth)"] == 8.5
    assert row["length (last fifth)"] == 18.5 and row["step_s"] == 1.5
    short = A.history_summary({"DPO": history[:3]}).iloc[0]  # fewer than 5 steps: one step each end
    assert (short["reward (first fifth)"], short["reward (last fifth)"]) == (0.0, 2.0)


def test_docstring_examples():
    assert doctest.testmod(A).failed == 0
