"""The one evaluation path (dsmath_lib.eval.evaluate): records in every mode on an untrained smoke model and on
scripted fakes, the disk cache keyed by checkpoint content, the one record schema every caller gets, and the
helpers it stands on (checkpoints, benchmarks, the NLL measure)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import dataclasses
import doctest
import json

import numpy as np
import pandas as pd
import pytest
import torch

from dsmath_lib.config import EvalConfig, ModelConfig, Params, SamplingConfig
from dsmath_lib.eval import benchmarks as B
from dsmath_lib.eval import checkpoints as C
from dsmath_lib.eval import evaluate as E
from dsmath_lib.eval import nll as N
from dsmath_lib.eval import records as R
from dsmath_lib.eval.prompting import few_shot_prompt
from dsmath_lib.eval.records import Record, runs_from_records
from dsmath_lib.model import build_model, copy_checkpoint, save_model
from dsmath_lib.problem import Problem
from dsmath_lib.synth.code import code_benchmark
from dsmath_lib.tokenizer import train_tokenizer

CFG = EvalConfig(benchmarks=["t"], n_problems=0, n_shots=2, n_samples=4, max_k=4, maj_resamples=16,
                 max_executions=1, grading_workers=1)
SAMPLING = SamplingConfig(max_new_tokens=12, temperature=1.0, batch_size=16)
FIELDS = ["checkpoint", "benchmark", "id", "level", "subject", "mode", "decoding", "sample", "output", "answer",
          "gold", "score", "executions"]


def _problems(n=6, benchmark="t", split="test"):
    return [Problem(f"{benchmark}/{split}/{i}", benchmark, f"Tom has {i} apples and gets {i + 2} more. How many?",
                    f"{i} + {i + 2} = {2 * i + 2}\nThe answer is {2 * i + 2}.", str(2 * i + 2), "numeric",
                    program=f"print({i} + {i + 2})", level=1 + i % 2, subject="arithmetic") for i in range(n)]


def _spec(n=3, **kw) -> E.EvalSpec:
    return E.EvalSpec({"t": _problems(n)}, sampling=SAMPLING, limits=CFG, **kw)


@pytest.fixture(scope="module")
def tok():
    texts = [p.question + "\n" + p.solution for p in _problems(200)]
    return train_tokenizer(texts, vocab_size=300)


@pytest.fixture(scope="module")
def model(tok):
    return build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0).eval()


@pytest.fixture
def checkpoint(model, tok, tmp_path):
    return save_model(model, tok, tmp_path / "runs" / "final-seed0" / "final", card={"name": "m", "stage": "base"})


def scripted(monkeypatch, greedy, sample=None):
    """Replace the model by scripted answers: greedy(question) / sample(question, call) per prompt; returns the
    list of (temperature, number of prompts) of every generate call."""
    calls = []

    def factory(model, tokenizer, *, temperature, **kwargs):
        def generate_fn(prompts, stop):
            calls.append((temperature, len(prompts)))
            respond = greedy if temperature == 0 else sample
            return [respond(p.split("\n")[0].split(">")[-1]) for p in prompts]
        return generate_fn

    monkeypatch.setattr(E, "model_generate_fn", factory)
    return calls


def counting(monkeypatch):
    """Count the real model's generate calls: a list of (temperature, number of prompts)."""
    calls, real = [], C.model_generate_fn

    def factory(model, tokenizer, **kwargs):
        fn = real(model, tokenizer, **kwargs)

        def generate_fn(prompts, stop):
            calls.append((kwargs["temperature"], len(prompts)))
            return fn(prompts, stop)
        return generate_fn

    monkeypatch.setattr(E, "model_generate_fn", factory)
    return calls


def no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a cached evaluation must not load the model")

    monkeypatch.setattr("dsmath_lib.model.load_model", refuse)


# --------------------------------------------------------------------------------------------- the loop
def test_untrained_model_runs_every_mode_with_complete_records(model, tok):
    shots = {"t": B.shots_for("t", _problems(10, split="train"), 2)}
    for mode in ("cot-fewshot", "cot-chat", "pot", "tool-chat"):
        records = E.evaluate((model, tok), _spec(modes=(mode,), n_samples=4, shots=shots), name="init")
        assert len(records) == 3 * (1 + CFG.n_samples) and all(type(r) is Record for r in records)
        assert list(pd.DataFrame(records).columns) == FIELDS
        assert [r.decoding for r in records[:3]] == ["greedy"] * 3 and [r.sample for r in records[3:7]] == [0, 1, 2, 3]
        assert all(r.mode == mode and r.checkpoint == "init" and r.score in (0.0, 1.0) for r in records)
        assert {r.gold for r in records} == {p.answer for p in _problems(3)}
        (run,) = runs_from_records(records, CFG)
        assert run.ks == [1, 2, 4] and len(run.maj) == len(run.pass_) == 3 and len(run.maj_top) == 3
        assert all(0.0 <= v <= 1.0 for v in run.maj + run.pass_)
        assert np.all(np.diff(run.pass_) >= -1e-12)  # Pass@K never falls as K grows


def test_greedy_is_deterministic(model, tok):
    outputs = [[r.output for r in E.evaluate((model, tok), _spec())] for _ in range(2)]
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3
    (run,) = runs_from_records(E.evaluate((model, tok), _spec()), CFG)
    assert run.ks == [] and run.maj == []


def test_scripted_correct_model_scores_one_and_wrong_model_zero(monkeypatch):
    answers = {p.question: p.answer for p in _problems(5)}
    right = lambda q: f"Adding. The answer is \\boxed{{{answers[q]}}}."  # noqa: E731
    scripted(monkeypatch, right, lambda q: right(q))
    (run,) = runs_from_records(E.evaluate((None, None), _spec(5, n_samples=4), name="fake"), CFG)
    assert run.greedy_correct() == [True] * 5 and run.maj[-1] == 1.0 and run.pass_[-1] == 1.0
    scripted(monkeypatch, lambda q: "The answer is \\boxed{-1}.", lambda q: "\\boxed{-1}")
    (bad,) = runs_from_records(E.evaluate((None, None), _spec(5, n_samples=4), name="bad"), CFG)
    assert bad.greedy_correct() == [False] * 5 and bad.pass_[-1] == 0.0


def test_maj_below_pass_when_the_right_answer_is_rare(monkeypatch):
    answers = {p.question: p.answer for p in _problems(4)}
    seen = {"n": 0}

    def one_in_four(q):  # sample 0 of each problem right, the other three agree on a wrong one
        seen["n"] += 1
        return f"\\boxed{{{answers[q]}}}" if (seen["n"] - 1) % 4 == 0 else "\\boxed{999}"

    scripted(monkeypatch, lambda q: "\\boxed{0}", one_in_four)
    (run,) = runs_from_records(E.evaluate((None, None), _spec(4, n_samples=4)), CFG)
    assert run.pass_[0] == pytest.approx(0.25) and run.pass_[-1] == pytest.approx(1.0)
    assert run.maj[-1] == pytest.approx(0.0)


def test_solve_and_grade_honours_the_grading_timeout(monkeypatch):
    seen = {}

    def fake_grade_many(preds, golds, workers=2, timeout_s=5.0, progress=True):
        seen.update(workers=workers, timeout_s=timeout_s)
        return [p == g for p, g in zip(preds, golds)]

    monkeypatch.setattr("dsmath_lib.eval.prompting.grade_many", fake_grade_many)
    cfg = dataclasses.replace(CFG, grading_timeout_s=0.25, grading_workers=3)
    _, correct = E.solve_and_grade(_problems(2), lambda ps, s: ["\\boxed{2}"] * len(ps), "cot-chat", cfg)
    assert seen == {"workers": 3, "timeout_s": 0.25} and correct == [True, False]


# --------------------------------------------------------------------------------------------- the cache
def test_cached_evaluation_returns_the_same_records_without_decoding(checkpoint, tok, tmp_path, monkeypatch):
    cache = tmp_path / "evals"
    spec = _spec(modes=("cot-chat",), n_samples=2, nll=True, shots={"t": _problems(2, split="train")},
                 code_tasks=code_benchmark(0, 2))
    calls = counting(monkeypatch)
    first = E.evaluate(checkpoint, spec, cache, name="final")
    assert calls and len(list(cache.glob("*.json"))) == 4  # greedy, sample, nll, code
    assert [(r.mode, r.decoding) for r in first].count(("cot-chat", "sample")) == 3 * 2
    assert {r.mode for r in first} == {"cot-chat", "nll", "code"} and not list(cache.glob(".*tmp*"))
    saved = json.loads(next(cache.glob("t_cot-chat_sample_*.json")).read_text())
    assert saved["settings"]["model"] == C.checkpoint_digest(checkpoint) and saved["settings"]["n_samples"] == 2

    calls.clear()
    no_model(monkeypatch)
    assert E.evaluate(checkpoint, spec, cache, name="final") == first and calls == []
    # a copy under another name (checkpoints/instruct from a run folder) has the same content: a hit
    copy = copy_checkpoint(checkpoint, tmp_path / "checkpoints" / "instruct", {"name": "instruct", "stage": "instruct"})
    again = E.evaluate(copy, spec, cache, name="instruct")
    assert again == [dataclasses.replace(r, checkpoint="instruct") for r in first] and calls == []
    # a retrained checkpoint (other weights) misses, and so does any unit whose settings change
    retrained = save_model(build_model(ModelConfig(size="smoke", context_length=256), tok, seed=1), tok,
                           tmp_path / "retrained")
    with pytest.raises(AssertionError, match="cached"):
        E.evaluate(retrained, spec, cache)
    with pytest.raises(AssertionError, match="cached"):
        E.evaluate(checkpoint, dataclasses.replace(spec, n_samples=3), cache)


def test_a_changed_setting_misses_only_the_units_it_determines(checkpoint, tmp_path, monkeypatch):
    cache = tmp_path / "evals"
    spec = _spec(modes=("cot-chat",), n_samples=2)
    calls = counting(monkeypatch)
    E.evaluate(checkpoint, spec, cache)
    calls.clear()
    hotter = dataclasses.replace(spec, sampling=dataclasses.replace(SAMPLING, temperature=0.5, batch_size=4))
    E.evaluate(checkpoint, hotter, cache)
    assert [t for t, _ in calls] == [0.5]  # the greedy unit was read; only the samples were decoded
    assert len(list(cache.glob("*.json"))) == 3


def test_cache_key_covers_items_prompts_and_limits():
    unit = E.Unit("t", "cot-chat", "greedy")
    base = E.unit_key(unit, _spec(), "digest")
    reworded = E.EvalSpec({"t": [dataclasses.replace(p, question=p.question + "!") for p in _problems(3)]},
                          sampling=SAMPLING, limits=CFG)
    assert E.unit_key(unit, reworded, "digest") != base
    assert E.unit_key(unit, _spec(), "other weights") != base
    assert E.unit_key(unit, _spec(shots={"t": _problems(2, split="train")}), "digest") == base  # chat: no shots
    few = E.Unit("t", "cot-fewshot", "greedy")
    assert (E.unit_key(few, _spec(shots={"t": _problems(2, split="train")}), "d")
            != E.unit_key(few, _spec(shots={"t": _problems(3, split="train")[1:]}), "d"))
    throughput = dataclasses.replace(_spec(), sampling=dataclasses.replace(SAMPLING, batch_size=1),
                                     limits=dataclasses.replace(CFG, grading_workers=8))
    assert E.unit_key(unit, throughput, "digest") == base
    assert E.unit_key(unit, dataclasses.replace(_spec(), limits=dataclasses.replace(CFG, grading_timeout_s=1)),
                      "digest") != base
    sample = E.Unit("t", "cot-chat", "sample")
    assert E.unit_key(sample, _spec(n_samples=2), "d") != E.unit_key(sample, _spec(n_samples=2, seed=1), "d")
    nll = E.Unit("t", "nll", "none")
    longer = dataclasses.replace(_spec(), sampling=dataclasses.replace(SAMPLING, max_new_tokens=99))
    assert E.unit_key(nll, longer, "d") == E.unit_key(nll, _spec(), "d")  # nothing is decoded


def test_the_schema_is_the_same_from_every_caller(checkpoint, model, tok, tmp_path, monkeypatch):
    from dsmath_lib.rl.trainer import evaluate_policy

    params = Params(scale="smoke", sampling=SAMPLING, eval=dataclasses.replace(CFG, n_samples=2, max_k=2))
    shots = {"t": _problems(2, split="train")}
    base_spec = E.EvalSpec.from_params(params, {"t": _problems(2)}, shots, modes=("cot-fewshot", "pot"), nll=True,
                                       code_tasks=code_benchmark(0, 1))
    ablation = E.evaluate(checkpoint, base_spec, tmp_path / "evals")  # notebooks 02-03
    found = [C.Checkpoint("instruct", str(checkpoint), "instruct")]
    table5 = [r for run in E.evaluate_checkpoints(found, {"t": _problems(2)}, _problems(4, split="train"), params,
                                                  tmp_path / "evals") for r in run.records]  # notebooks 04, 05, 07
    seen = []
    real = E.evaluate
    monkeypatch.setattr(E, "evaluate", lambda *a, **k: seen.extend(real(*a, **k)) or seen)
    accuracy = evaluate_policy(model, tok, _problems(2), max_new_tokens=8, batch_size=4, eval_cfg=CFG)  # GRPO
    assert set(accuracy) == {"accuracy", "accuracy/t"}
    for records in (ablation, table5, seen):
        assert records and all(type(r) is Record for r in records)
        assert list(pd.DataFrame(records).columns) == FIELDS
    assert {r.mode for r in ablation} == {"cot-fewshot", "pot", "nll", "code"}
    assert {(r.mode, r.decoding) for r in table5} == {(m, d) for m in ("cot-chat", "tool-chat") for d in ("greedy", "sample")}
    assert {(r.checkpoint, r.mode, r.decoding) for r in seen} == {("policy", "cot-chat", "greedy")}


# --------------------------------------------------------------------------------------------- inputs
def test_find_checkpoints_and_evaluate_checkpoints(tmp_path, model, tok):
    save_model(model, tok, tmp_path / "checkpoints" / "init", {"name": "init", "stage": "init"})
    (tmp_path / "checkpoints" / "junk").mkdir()  # no config.json: not a checkpoint
    found = C.find_checkpoints(tmp_path / "checkpoints")
    assert [(c.name, c.stage, c.modes) for c in found] == [("init", "init", ("cot-fewshot",))]
    with pytest.raises(FileNotFoundError, match="00_world"):
        C.find_checkpoints(tmp_path / "nothing")
    params = Params(scale="smoke", sampling=SamplingConfig(max_new_tokens=8, batch_size=16),
                    eval=EvalConfig(n_samples=2, max_k=2, maj_resamples=4, grading_workers=1, n_shots=2))
    runs = E.evaluate_checkpoints(found, {"t": _problems(2)}, _problems(10, split="train"), params, tmp_path / "e")
    assert [(r.checkpoint, r.benchmark, r.mode, len(r.records), r.ks) for r in runs] == [("init", "t", "cot-fewshot", 6, [1, 2])]
    greedy = E.evaluate_checkpoints(found, {"t": _problems(2)}, _problems(10, split="train"), params, tmp_path / "e",
                                    n_samples=0)
    assert [len(r.records) for r in greedy] == [2]


def test_checkpoint_modes_and_content_digest(checkpoint, model, tok, tmp_path):
    assert C.Checkpoint("i", "p", "instruct").modes == ("cot-chat", "tool-chat")
    assert C.Checkpoint("i", "p", "instruct", modes=("cot-chat", "pot")).modes == ("cot-chat", "pot")
    with pytest.raises(ValueError, match="unknown stage 'sft'"):
        C.Checkpoint("x", "p", "sft")
    digest = C.checkpoint_digest(checkpoint)
    copy = copy_checkpoint(checkpoint, tmp_path / "copy", {"name": "other", "stage": "instruct"})
    assert C.checkpoint_digest(copy) == digest  # the card differs, the model does not
    other = save_model(build_model(ModelConfig(size="smoke", context_length=256), tok, seed=2), tok, tmp_path / "o")
    assert C.checkpoint_digest(other) != digest
    with pytest.raises(FileNotFoundError, match="no model files"):
        (tmp_path / "empty").mkdir()
        C.checkpoint_digest(tmp_path / "empty")


def test_load_eval_benchmarks_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="00_world"):
        B.load_eval_benchmarks(EvalConfig(benchmarks=["synth-gsm"]), tmp_path)
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "synth-gsm.jsonl").write_text("".join(p.to_json() + "\n" for p in _problems(5, "synth-gsm")))
    stage = B.load_eval_benchmarks(EvalConfig(benchmarks=["synth-gsm"], n_problems=3), tmp_path, n_problems=2)
    assert len(stage["synth-gsm"]) == 2  # a stage's own n wins over 07's
    loaded = B.load_eval_benchmarks(EvalConfig(benchmarks=["synth-gsm"], n_problems=3), tmp_path)
    assert [p.id for p in loaded["synth-gsm"]] == ["synth-gsm/test/0", "synth-gsm/test/1", "synth-gsm/test/2"]
    with pytest.raises(FileNotFoundError, match="train.jsonl"):
        B.load_shot_pool(tmp_path)


def test_solution_nll_matches_a_direct_computation(model, tok):
    problems, shots = _problems(3), _problems(1, split="train")
    nll = N.solution_nll(model, tok, problems, shots, batch_size=2)
    assert len(nll) == 3 and all(0 < v < 20 for v in nll)
    prompt = tok(few_shot_prompt(problems[1].question, shots))["input_ids"]
    target = tok(" " + problems[1].solution, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([prompt + target])).logits[0].float()
    logp = torch.log_softmax(logits[len(prompt) - 1:-1], dim=-1)
    direct = -logp.gather(-1, torch.tensor(target)[:, None]).mean().item()
    assert nll[1] == pytest.approx(direct, rel=1e-4)  # batching and padding change nothing


def test_docstring_examples():
    for module in (E, R, C, B, N):
        assert doctest.testmod(module).failed == 0


def test_find_checkpoints_leaves_out_the_reward_model(tmp_path):
    for name, stage in (("base", "base"), ("prm", "prm")):  # notebook 06 saves checkpoints/prm
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
        (tmp_path / name / "dsmath.json").write_text(json.dumps({"name": name, "stage": stage}))
    assert [c.name for c in C.find_checkpoints(tmp_path)] == ["base"]
