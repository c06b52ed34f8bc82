"""The conclusions of notebooks 02-05 are read from their measured tables: every number in the text is one of
the table's, so a rerun with other numbers gets other sentences (no hand-typed result can go stale)."""

import doctest
import importlib

import pandas as pd
import pytest

from dsmath_lib import pretraining, sft
from dsmath_lib.eval.intervals import parse_interval
from dsmath_lib.rl import report


@pytest.mark.parametrize("name", ["dsmath_lib.pretraining.findings", "dsmath_lib.sft.stage",
                                  "dsmath_lib.rl.report", "dsmath_lib.eval.intervals"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_parse_interval_reads_back_a_formatted_cell():
    assert parse_interval("12.5 [3.0, 22.0]") == (12.5, 3.0, 22.0)
    assert parse_interval("-1.5 [-3.0, 0.5]") == (-1.5, -3.0, 0.5)
    assert all(v != v for v in parse_interval("-"))


def test_findings_conclusion_follows_the_verdict_table():
    verdicts = pd.DataFrame({
        "claim": ["final beats seed", "final beats seed", "mining helps"],
        "measure": ["GSM8K", "MATH NLL", "GSM8K"], "gain": [3.25, -0.31, -2.5],
        "ci_low": [1.5, -0.5, -4.0], "ci_high": [5.0, -0.12, -1.0],
        "verdict": ["reproduced", "reversed", "reversed"]})
    table = pd.DataFrame({"setting": ["final", "seed", "iteration 1", "seed"],
                          "GSM8K (ours)": ["7.5 [4.0, 11.0]", "4.25 [1.0, 7.0]", "0.5 [0.0, 1.5]", "4.25 [1.0, 7.0]"],
                          "GSM8K NLL (ours)": ["2.2 [2.1, 2.3]", "2.4 [2.3, 2.5]", "2.6 [2.5, 2.7]", "2.4 [2.3, 2.5]"],
                          "GSM8K (paper)": ["23.8", "11.5", "-", "11.5"]})
    text = pretraining.findings_conclusion(verdicts, table)
    lines = text.splitlines()
    assert len(lines) == 3  # one per claim, one on accuracy
    assert lines[0].startswith("- **final beats seed**: reproduced on GSM8K +3.25 points [95% CI +1.50, +5.00]")
    assert "reversed on MATH NLL -0.31 nats/token [95% CI -0.50, -0.12]" in lines[0]
    assert "opposite holds" in lines[1]
    # the range reads "(ours)" accuracy columns only, once per setting: not the paper's 23.8, not the NLL
    assert lines[2] == "- Accuracy across the 3 settings ranges from 0.5% (iteration 1, GSM8K) to 7.5% (final, GSM8K)."
    moved = verdicts.assign(gain=[0.5, -0.31, -2.5], ci_low=[-1.0, -0.5, -4.0], verdict=["not resolved", "reversed", "reversed"])
    assert "not resolved on GSM8K +0.50 points" in pretraining.findings_conclusion(moved, table)


def test_sft_conclusion_compares_each_instruct_setting_with_the_base():
    table = pd.DataFrame({"setting": ["few-shot CoT", "CoT", "PoT", "tool-integrated"],
                          "model": ["base", "instruct", "instruct", "instruct"],
                          "GSM8K (ours)": ["2.0 [0.0, 4.0]", "10.0 [6.0, 14.0]", "3.0 [1.0, 5.0]", "0.0 [0.0, 0.0]"],
                          "GSM8K (paper)": ["64.2", "82.9", "-", "83.7"],
                          "MATH (ours)": ["6.0 [5.0, 7.0]", "1.0 [0.0, 2.0]", "6.5 [4.0, 9.0]", "4.0 [2.0, 7.0]"],
                          "MATH (paper)": ["36.2", "46.8", "-", "57.4"]})
    gsm, math = sft.conclusion(table).splitlines()
    assert gsm.startswith("- **GSM8K**: instruct zero-shot CoT 10.0% [6.0, 14.0] (paper 82.9), above;")
    assert "PoT 3.0% [1.0, 5.0], overlapping" in gsm and "tool-integrated 0.0% [0.0, 0.0] (paper 83.7), overlapping" in gsm
    assert gsm.endswith("against base few-shot CoT 2.0% [0.0, 4.0] (paper 64.2).")
    assert "CoT 1.0% [0.0, 2.0] (paper 46.8), below" in math and "PoT 6.5% [4.0, 9.0], overlapping" in math
    assert "no base row" in sft.conclusion(table[table["model"] == "instruct"])


def test_grpo_conclusion_reads_history_evals_and_gains():
    history = pd.DataFrame({"step": list(range(1, 12)),
                            "reward_mean": [float("nan"), 0.125, 0.25, 0.375, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.75],
                            "zero_std_share": [1.0, 0.5, float("nan"), 0.75] + [float("nan")] * 7})
    evals = pd.DataFrame({"step": [0, 2, 4], "accuracy": [0.1, 0.2, 0.15], "accuracy/synth-gsm": [0.2, 0.3, 0.25]})
    gains = pd.DataFrame({"benchmark": ["synth-gsm", "synth-math"], "setting": ["CoT", "tool-integrated"],
                          "gain": [5.0, -0.5], "ci_low": [1.0, -2.0], "ci_high": [9.0, 1.0], "problems": [40, 40],
                          "resolved": [True, False]})
    lines = report.conclusion(history, evals, gains).splitlines()
    # 10 steps with a reward: the first and last fifth are steps 2-3 and 10-11, whose means are compared
    assert lines[0].endswith("as one step's batch is small): 0.188 over steps 2-3, 0.500 over steps 10-11.")
    assert "75.0% of groups on average over 3 steps" in lines[1]
    assert lines[2] == "- **Held-out accuracy** (greedy CoT): 10.0% at step 0, 15.0% at step 4."
    assert "synth-gsm CoT +5.0 points [+1.0, +9.0] over 40 problems, resolved (the interval excludes 0)" in lines[3]
    assert "synth-math tool-integrated -0.5 points [-2.0, +1.0] over 40 problems, not resolved" in lines[3]
    assert lines[3].endswith("1 of 2 gains resolved.")
    bare = report.conclusion(pd.DataFrame(), pd.DataFrame(), gains.iloc[:0])
    assert bare == "- **RL minus Instruct** (top-1, paired 95% CI over the same problems): no paired gain measured. 0 of 0 gains resolved."
