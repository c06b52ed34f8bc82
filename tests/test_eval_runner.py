"""Tests for dsmath_lib.eval.runner: the evaluation loop on an untrained smoke model (plumbing, shapes,
record fields, greedy determinism) and on a scripted fake model whose answers are known."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import doctest
import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from dsmath_lib.config import EvalConfig, ModelConfig, Params, SamplingConfig
from dsmath_lib.eval import runner as R
from dsmath_lib.model import build_model, save_model
from dsmath_lib.problem import Problem
from dsmath_lib.tokenizer import train_tokenizer

CFG = EvalConfig(benchmarks=["t"], n_problems=0, n_shots=2, n_samples=4, max_k=4, maj_resamples=16,
                 max_executions=1, grading_workers=1)
RECORD_FIELDS = {"checkpoint", "benchmark", "id", "level", "subject", "mode", "decoding", "sample", "output",
                 "answer", "gold", "correct", "executions"}


def _problems(n=6, benchmark="t"):
    return [Problem(f"{benchmark}/test/{i}", benchmark, f"Tom has {i} apples and gets {i + 2} more. How many?",
                    f"{i} + {i + 2} = {2 * i + 2}\nThe answer is {2 * i + 2}.", str(2 * i + 2), "numeric",
                    level=1 + i % 2, subject="arithmetic") for i in range(n)]


@pytest.fixture(scope="module")
def tok():
    texts = [p.question + "\n" + p.solution for p in _problems(200)]
    return train_tokenizer(texts, vocab_size=300)


@pytest.fixture(scope="module")
def model(tok):
    return build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0).eval()


def _fns(model, tok):
    common = dict(max_new_tokens=12, batch_size=16, seed=0, progress=False)
    return (R.model_generate_fn(model, tok, temperature=0.0, **common),
            R.model_generate_fn(model, tok, temperature=1.0, **common))


def test_untrained_model_runs_every_mode_with_complete_records(model, tok):
    problems, train = _problems(3), _problems(10, "t")
    greedy_fn, sample_fn = _fns(model, tok)
    for mode in ("cot-fewshot", "cot-chat", "tool-chat"):
        shots = R.shots_for("t", train, 2) if mode == "cot-fewshot" else ()
        run = R.evaluate(problems, mode, greedy_fn, sample_fn, CFG, shots, checkpoint="init")
        assert len(run.records) == 3 * (1 + CFG.n_samples)
        assert all(set(r) == RECORD_FIELDS for r in run.records)
        assert [r["decoding"] for r in run.records[:3]] == ["greedy"] * 3
        assert [r["sample"] for r in run.records[3:7]] == [0, 1, 2, 3]
        assert run.ks == [1, 2, 4] and len(run.maj) == len(run.pass_) == 3
        assert all(0.0 <= v <= 1.0 for v in run.maj + run.pass_)
        assert np.all(np.diff(run.pass_) >= -1e-12)  # Pass@K never falls as K grows
        assert all(r["mode"] == mode and r["checkpoint"] == "init" for r in run.records)
        assert {r["gold"] for r in run.records} == {p.answer for p in problems}


def test_greedy_is_deterministic(model, tok):
    problems = _problems(3)
    outputs = []
    for _ in range(2):
        greedy_fn, _ = _fns(model, tok)
        run = R.evaluate(problems, "cot-chat", greedy_fn, None, CFG)
        outputs.append([r["output"] for r in run.records])
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 3 and run.ks == []


def test_scripted_correct_model_scores_one_and_wrong_model_zero():
    problems = _problems(5)
    answers = {p.question: p.answer for p in problems}

    def right(prompts, stop):
        return [f"Adding. The answer is \\boxed{{{answers[p.split(chr(10))[0].split('>')[-1]]}}}." for p in prompts]

    def wrong(prompts, stop):
        return ["The answer is \\boxed{-1}."] * len(prompts)

    run = R.evaluate(problems, "cot-chat", right, right, CFG, checkpoint="fake")
    acc = R.accuracy_table([run])
    assert acc.loc[0, "greedy"] == 1.0 and acc.loc[0, "maj@max_k"] == 1.0 and acc.loc[0, "pass@max_k"] == 1.0
    bad = R.accuracy_table([R.evaluate(problems, "cot-chat", wrong, wrong, CFG, checkpoint="bad")])
    assert bad.loc[0, "greedy"] == 0.0 and bad.loc[0, "pass@max_k"] == 0.0


def test_maj_below_pass_when_the_right_answer_is_rare():
    problems = _problems(4)
    answers = {p.question: p.answer for p in problems}
    calls = {"n": 0}

    def one_in_four(prompts, stop):  # sample 0 of each problem right, the other three agree on a wrong one
        out = []
        for p in prompts:
            calls["n"] += 1
            q = p.split("\n")[0].split(">")[-1]
            out.append(f"\\boxed{{{answers[q]}}}" if (calls["n"] - 1) % 4 == 0 else "\\boxed{999}")
        return out

    run = R.evaluate(problems, "cot-chat", lambda ps, s: ["\\boxed{0}"] * len(ps), one_in_four, CFG)
    assert run.pass_[0] == pytest.approx(0.25) and run.pass_[-1] == pytest.approx(1.0)
    assert run.maj[-1] == pytest.approx(0.0)


def test_tables_figure_items_and_paper_comparison(tmp_path):
    problems = _problems(6)
    run = R.evaluate(problems, "cot-chat", lambda ps, s: ["\\boxed{4}"] * len(ps),
                     lambda ps, s: ["\\boxed{4}"] * len(ps), CFG, checkpoint="fake")
    levels = R.level_table([run])
    assert set(levels["level"]) == {1, 2} and levels["problems"].sum() == 6
    curves = R.curves_table([run])
    assert list(curves["k"]) == [1, 2, 4]
    fig = R.plot_k_curves(curves)
    assert fig.axes[0].get_xscale() == "log"
    paths = R.save_items([run], tmp_path)
    assert paths[0].name == "items_fake_t_cot-chat.jsonl"
    lines = [json.loads(line) for line in paths[0].read_text().splitlines()]
    assert len(lines) == 6 * 5 and sum(r["correct"] for r in lines) == 5  # gold 4 is problem 1's answer
    acc = R.accuracy_table([run]).assign(benchmark="synth-gsm")
    table = R.paper_comparison(acc)
    ours = table[table["source"].str.startswith("ours")]
    assert list(ours["GSM8K"]) == [pytest.approx(100 / 6, abs=0.1)]
    assert (table["source"].str.startswith("paper")).sum() == len(R.PAPER_TABLE5)
    assert "fake on t (cot-chat): greedy 16.7%" in R.conclusion(R.accuracy_table([run]))


def test_find_checkpoints_and_evaluate_checkpoints(tmp_path, model, tok):
    save_model(model, tok, tmp_path / "checkpoints" / "init", {"name": "init", "stage": "init"})
    (tmp_path / "checkpoints" / "junk").mkdir()  # no config.json: not a checkpoint
    found = R.find_checkpoints(tmp_path / "checkpoints")
    assert [(c.name, c.stage, c.modes) for c in found] == [("init", "init", ("cot-fewshot",))]
    with pytest.raises(FileNotFoundError, match="00_world"):
        R.find_checkpoints(tmp_path / "nothing")
    params = Params(scale="smoke", sampling=SamplingConfig(max_new_tokens=8, batch_size=16),
                    eval=EvalConfig(n_samples=2, max_k=2, maj_resamples=4, grading_workers=1, n_shots=2))
    runs = R.evaluate_checkpoints(found, {"t": _problems(2)}, _problems(10), params)
    assert [(r.checkpoint, r.benchmark, r.mode, len(r.records)) for r in runs] == [("init", "t", "cot-fewshot", 6)]


def test_load_eval_benchmarks_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="00_world"):
        R.load_eval_benchmarks(EvalConfig(benchmarks=["synth-gsm"]), tmp_path)
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "synth-gsm.jsonl").write_text("".join(p.to_json() + "\n" for p in _problems(5, "synth-gsm")))
    loaded = R.load_eval_benchmarks(EvalConfig(benchmarks=["synth-gsm"], n_problems=3), tmp_path)
    assert [p.id for p in loaded["synth-gsm"]] == ["synth-gsm/test/0", "synth-gsm/test/1", "synth-gsm/test/2"]


def test_docstring_examples():
    assert doctest.testmod(R).failed == 0
