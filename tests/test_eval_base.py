"""Per-problem scores of base checkpoints (eval.base) and Table 5 with intervals (eval.table5)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import doctest

import pandas as pd
import pytest
import torch

from dsmath_lib.config import ModelConfig, load_params, params_path
from dsmath_lib.eval import base as B
from dsmath_lib.eval import table5 as T
from dsmath_lib.eval.runner import EvalRun
from dsmath_lib.model import build_model, save_model
from dsmath_lib.problem import Problem
from dsmath_lib.tokenizer import train_tokenizer

PROBLEMS = [Problem(f"synth-gsm/test/{i}", "synth-gsm", f"Tom has {i} apples and buys 2. How many?",
                    f"{i} + 2 = {i + 2}\nThe answer is {i + 2}.", str(i + 2), "numeric", level=1) for i in range(6)]
SHOTS = [Problem("synth-gsm/train/0", "synth-gsm", "Ann has 3 pears and buys 2. How many?",
                 "3 + 2 = 5\nThe answer is 5.", "5", "numeric", program="print(3 + 2)", level=1)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    texts = [p.question + " " + p.solution for p in PROBLEMS + SHOTS] * 20 + ["Question: Answer:"]
    tok = train_tokenizer(texts, vocab_size=300)
    model = build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0)
    return save_model(model, tok, tmp_path_factory.mktemp("ckpt") / "m", card={"stage": "base"}), model, tok


def test_solution_nll_matches_a_direct_computation(checkpoint):
    _, model, tok = checkpoint
    nll = B.solution_nll(model, tok, PROBLEMS[:3], SHOTS, batch_size=2)
    assert len(nll) == 3 and all(0 < v < 20 for v in nll)
    prompt = tok(B.few_shot_prompt(PROBLEMS[1].question, SHOTS))["input_ids"]
    target = tok(" " + PROBLEMS[1].solution, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([prompt + target])).logits[0].float()
    logp = torch.log_softmax(logits[len(prompt) - 1:-1], dim=-1)
    direct = -logp.gather(-1, torch.tensor(target)[:, None]).mean().item()
    assert nll[1] == pytest.approx(direct, rel=1e-4)  # batching and padding change nothing


def test_score_checkpoint_caches_per_measure(checkpoint, monkeypatch):
    path, _, _ = checkpoint
    params = load_params(params_path("smoke"))
    params.sampling.max_new_tokens = 8
    spec = B.BaseEval({"synth-gsm": PROBLEMS[:4]}, {"synth-gsm": SHOTS}, modes=("cot-fewshot",), nll=True)
    records = B.score_checkpoint(path, spec, params)
    assert {(r["mode"], r["id"]) for r in records} == {(m, p.id) for m in ("cot-fewshot", "nll") for p in PROBLEMS[:4]}
    assert all(r["score"] in (0.0, 1.0) for r in records if r["mode"] == "cot-fewshot")
    assert len(list((path / "evals").glob("*.json"))) == 2

    def no_model(*args, **kwargs):
        raise AssertionError("a cached measure must not load the model")

    monkeypatch.setattr("dsmath_lib.model.load_model", no_model)
    assert B.score_checkpoint(path, spec, params) == records
    with pytest.raises(AssertionError, match="cached"):
        B.score_checkpoint(path, spec.subset(2), params)  # a subset is another key: it needs the model


def test_summary_table_averages_seeds_per_problem():
    scores = pd.DataFrame([{"model": "m", "benchmark": "b", "mode": "cot", "id": i, "seed": s, "score": float(s == 0)}
                           for i in range(10) for s in (0, 1)])
    row = B.summary_table(scores).iloc[0]
    assert row["problems"] == 10 and row["mean"] == 0.5 and row["ci_low"] == row["ci_high"] == 0.5


def _run(checkpoint: str, correct: list[bool]) -> EvalRun:
    records = [{"decoding": "greedy", "id": f"p{i}", "correct": ok} for i, ok in enumerate(correct)]
    return EvalRun(checkpoint, "synth-math", "cot-chat", records, ks=[1, 4], maj=[0.5, 0.5], pass_=[0.5, 0.9],
                   maj_top=[float(ok) for ok in correct])


def test_table5_and_paired_gain():
    runs = [_run("instruct", [False] * 30 + [True] * 10), _run("rl", [True] * 30 + [True] * 10)]
    table = T.table5(runs)
    rl = table[table["model"] == "rl"].iloc[0]
    assert rl["MATH top-1 (paper)"] == "51.7" and rl["MATH Maj@K (paper, K=64)"] == "60.9"
    assert rl["MATH top-1 (ours)"].startswith("100.0") and "MATH Maj@4 (ours)" in table
    gain = T.paired_gain(runs, "rl", "instruct").iloc[0]
    assert gain["gain"] == 75.0 and gain["resolved"]


def test_docstring_examples():
    for module in (B, T):
        assert doctest.testmod(module).failed == 0
