"""What the notebooks show of evaluation records: eval.tables (07's tables, Figure 7, the paper comparison),
eval.table5 (Table 5, 04's top-1 table, the RL gain), and eval.intervals (the one paired bootstrap and the
one interval formatter, which ablation tables, Table 5 and the RL gain all use)."""

import doctest
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from dsmath_lib import pretraining
from dsmath_lib.config import EvalConfig
from dsmath_lib.eval import intervals as I
from dsmath_lib.eval import table5 as T
from dsmath_lib.eval import tables
from dsmath_lib.eval.metrics import bootstrap_ci
from dsmath_lib.eval.records import Record, runs_from_records

CFG = EvalConfig(n_samples=4, max_k=4, maj_resamples=16, grading_workers=1)


def _records(checkpoint, benchmark, mode, answers, gold="4", samples=()):
    """Greedy records answering `answers[i]` to problem i (gold `gold`, level 1 + i % 2), then samples."""
    out = [Record(checkpoint, benchmark, f"{benchmark}/test/{i}", 1 + i % 2, "arithmetic", mode, "greedy", 0,
                  f"\\boxed{{{a}}}", a, gold, float(a == gold)) for i, a in enumerate(answers)]
    for i, row in enumerate(samples):
        out += [Record(checkpoint, benchmark, f"{benchmark}/test/{i}", 1 + i % 2, "arithmetic", mode, "sample", j,
                       f"\\boxed{{{a}}}", a, gold, float(a == gold)) for j, a in enumerate(row)]
    return out


def _run(checkpoint, correct, benchmark="synth-math", mode="cot-chat"):
    (run,) = runs_from_records(_records(checkpoint, benchmark, mode, ["4" if ok else "5" for ok in correct]), CFG)
    return run


def test_tables_figure_items_and_paper_comparison(tmp_path):
    answers = ["4", "5", "5", "5", "5", "5"]
    samples = [["4"] * 4] + [["5"] * 4] * 5
    (run,) = runs_from_records(_records("fake", "t", "cot-chat", answers, samples=samples), CFG)
    levels = tables.level_table([run])
    assert set(levels["level"]) == {1, 2} and levels["problems"].sum() == 6
    curves = tables.curves_table([run])
    assert list(curves["k"]) == [1, 2, 4] and list(curves["pass@k"]) == pytest.approx([1 / 6] * 3)
    fig = tables.plot_k_curves(curves)
    assert fig.axes[0].get_xscale() == "log"
    paths = tables.save_items([run], tmp_path)
    assert paths[0].name == "items_fake_t_cot-chat.jsonl"
    lines = [json.loads(line) for line in paths[0].read_text().splitlines()]
    assert len(lines) == 6 * 5 and sum(r["score"] for r in lines) == 5 and list(lines[0]) == list(Record.__annotations__)
    acc = tables.accuracy_table([run]).assign(benchmark="synth-gsm")
    table = tables.paper_comparison(acc)
    ours = table[table["source"].str.startswith("ours")]
    assert list(ours["GSM8K"]) == [pytest.approx(100 / 6, abs=0.1)]
    assert (table["source"].str.startswith("paper")).sum() == len(tables.PAPER_TABLE5)
    assert "fake on t (cot-chat): greedy 16.7%" in tables.conclusion(tables.accuracy_table([run]))
    assert tables.tracker_metrics([run])["fake/t/cot-chat/pass@4"] == pytest.approx(1 / 6)


def test_table5_top1_table_and_paired_gain():
    runs = [_run("instruct", [False] * 30 + [True] * 10), _run("rl", [True] * 30 + [True] * 10)]
    table = T.table5(runs)
    rl = table[table["model"] == "rl"].iloc[0]
    assert rl["MATH top-1 (paper)"] == "51.7" and rl["MATH Maj@K (paper, K=64)"] == "60.9"
    assert rl["MATH top-1 (ours)"].startswith("100.0") and rl["MATH Maj@0 (ours)"] == "-"  # no samples
    gain = T.paired_gain(runs, "rl", "instruct").iloc[0]
    assert gain["gain"] == 75.0 and gain["resolved"] and gain["problems"] == 40
    base = _run("base", [True] * 2 + [False] * 18, "synth-gsm", "cot-fewshot")
    top1 = T.top1_table([base, runs[0]])
    assert list(top1.columns) == ["setting", "model", "GSM8K (ours)", "GSM8K (paper)", "MATH (ours)", "MATH (paper)"]
    assert list(top1["setting"]) == ["few-shot CoT", "CoT"] and top1.loc[0, "GSM8K (paper)"] == "64.2"
    assert top1.loc[0, "GSM8K (ours)"].startswith("10.0 [") and top1.loc[1, "MATH (ours)"].startswith("25.0 [")


def test_paired_bootstrap_hand_case():
    a = pd.Series([1.0, 1.0, 0.0, 1.0, 1.0], index=["p0", "p1", "p2", "p3", "p9"])  # p9: only a saw it
    b = pd.Series([0.0, 1.0, 0.0, 0.0, 1.0], index=["p3", "p2", "p1", "p0", "p7"])  # another order, p7 only b
    d = I.paired_difference(a, b, seed=3)
    assert d.problems == 4 and d.mean == pytest.approx(0.5)  # ((1-0) + (1-0) + (0-1) + (1-0)) / 4
    assert (d.ci_low, d.ci_high) == bootstrap_ci(np.array([1.0, 1.0, -1.0, 1.0]), seed=3)  # a's order, pairs kept
    same = I.paired_difference(pd.Series([1.0] * 5), pd.Series([0.0] * 5))
    assert (same.mean, same.ci_low, same.ci_high, same.resolved) == (1.0, 1.0, 1.0, True)
    assert not I.paired_difference(pd.Series([0.5, 0.5]), pd.Series([0.5, 0.5])).resolved
    with pytest.raises(ValueError, match="share no problem"):
        I.paired_difference(pd.Series([1.0], index=["x"]), pd.Series([1.0], index=["y"]))


def test_ablation_table5_and_intervals_share_one_bootstrap():
    rng = np.random.default_rng(0)
    rows = [{"arm": arm, "seed": s, "benchmark": "synth-gsm", "mode": "cot-fewshot", "id": f"synth-gsm/test/{i}",
             "score": float(rng.random() < p)} for arm, p in (("good", 0.5), ("bad", 0.2)) for s in (0, 1)
            for i in range(30)]
    scores = pd.DataFrame(rows)
    row = pretraining.paired_difference(scores, "good", "bad", seed=1).iloc[0]
    d = I.paired_difference(I.seed_averaged(scores[scores["arm"] == "good"]),
                            I.seed_averaged(scores[scores["arm"] == "bad"]), seed=1)
    assert (row["difference"], row["ci_low"], row["ci_high"]) == (round(100 * d.mean, 2), round(100 * d.ci_low, 2),
                                                                  round(100 * d.ci_high, 2))
    runs = [_run("rl", [True, True, False, True]), _run("instruct", [False, True, False, False])]
    gain = T.paired_gain(runs, "rl", "instruct", seed=2).iloc[0]
    d = I.paired_difference(runs[0].per_problem(), runs[1].per_problem(), seed=2)
    assert (gain["gain"], gain["ci_low"], gain["ci_high"]) == (round(100 * d.mean, 1), round(100 * d.ci_low, 1),
                                                               round(100 * d.ci_high, 1))


def test_one_interval_formatter():
    assert I.interval([1, 0, 1, 1]) == I.format_interval(0.75, *bootstrap_ci([1, 0, 1, 1])) == "75.0 [25.0, 100.0]"
    assert I.interval([2.0, 2.2], scale=1.0).startswith("2.1 [")
    frame = pd.DataFrame({"id": ["a", "a", "b", "b"], "score": [1.0, 0.0, 1.0, 1.0]})
    mean, lo, hi, n = I.seed_averaged_interval(frame)
    assert (mean, n) == (0.75, 2) and lo <= mean <= hi


def test_docstring_examples():
    for module in (tables, T, I):
        assert doctest.testmod(module).failed == 0
