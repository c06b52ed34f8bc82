"""Ablation arms, stage specs and the tables built from per-problem scores (dsmath_lib.pretraining)."""

import dataclasses
import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dsmath_lib import pretraining
from dsmath_lib.config import PretrainConfig, load_params, params_path
from dsmath_lib.paper_numbers import TABLE1

CFG = PretrainConfig(math_tokens=1000, first_stage_tokens=1000, batch_size=2, micro_batch_size=1, lr=1e-3,
                     warmup_steps=1, seeds=[0, 1])


def _scores(effect: float, n: int = 200, seeds=(0, 1)) -> pd.DataFrame:
    """Arm 'good' solves a problem with probability 0.2 + effect, arm 'bad' with 0.2, per seed."""
    rng = np.random.default_rng(0)
    rows = []
    for arm, p in (("good", 0.2 + effect), ("bad", 0.2)):
        for seed in seeds:
            for i in range(n):
                rows.append({"arm": arm, "seed": seed, "benchmark": "synth-gsm", "mode": "cot-fewshot",
                             "id": f"g/{i}", "level": 1, "score": float(rng.random() < p)})
                rows.append({"arm": arm, "seed": seed, "benchmark": "synth-gsm", "mode": "nll", "id": f"g/{i}",
                             "level": 1, "score": 2.0 - (p - 0.2) + 0.1 * rng.standard_normal()})
    return pd.DataFrame(rows)


def test_arms_share_runs_between_notebooks():
    corpus, staging = pretraining.corpus_arms(CFG), pretraining.staging_arms(CFG)
    final_02 = next(a for a in corpus if a.paper_row.startswith("DeepSeekMath"))
    math_only = next(a for a in staging if a.name == "math only")
    assert final_02.stages == math_only.stages and final_02.seeds == math_only.seeds == (0, 1)
    general_02, general_then_math = corpus[0], next(a for a in staging if a.name == "general, then math")
    assert general_then_math.stages[0] == general_02.stages[0]  # equal budgets: the general stage is 02's run
    mixed = next(a for a in staging if a.name == "code + math mixed")
    assert mixed.stages[0].tokens == CFG.first_stage_tokens + CFG.math_tokens
    assert all(a.paper_row in TABLE1 for a in corpus if a.paper_row)


def test_the_base_model_continues_the_code_stage_on_the_papers_mix():
    """DeepSeekMath-Base's analogue: 03's code stage (the same run as "code, then math"'s first) continued for
    base_tokens, split 60 / 20 / 10 / 10 over the math corpus, code, arXiv and general prose; none at 0."""
    from dsmath_lib.config import BASE_MIX

    assert pretraining.base_arm(CFG) is None  # base_tokens 0: the best staging arm is the base
    base = pretraining.base_arm(dataclasses.replace(CFG, base_tokens=10_001))
    code_then_math = pretraining.arms_by_key(pretraining.staging_arms(CFG))["code_then_math"]
    assert base.stages[0] == code_then_math.stages[0] and base.seeds == (0,) and base.key == "base"
    mix = dict(base.stages[1].sources)
    assert base.stages[1].tokens == 10_001 and list(mix) == list(BASE_MIX) == ["final", "python", "arxiv", "general"]
    assert mix == {"final": 6_001, "python": 2_000, "arxiv": 1_000, "general": 1_000}
    assert abs(sum(BASE_MIX.values()) - 1) < 1e-9


@pytest.mark.parametrize("module", [pretraining.arms, pretraining.scores, pretraining.findings])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_arms_are_picked_by_key_not_position():
    staging = pretraining.arms_by_key(pretraining.staging_arms(CFG))
    assert staging["math_only"].name == "math only" and staging["arxiv_only"].stages[0].sources[0][0] == "arxiv"
    assert list(staging) == ["general_only", "general_then_math", "code_then_math", "math_only", "code_math_mixed",
                             "arxiv_only"]
    corpus = pretraining.corpus_arms(CFG)
    with pytest.raises(ValueError, match="its own key"):
        pretraining.arms_by_key(corpus + [dataclasses.replace(corpus[0], name="copy")])
    with pytest.raises(ValueError, match="its own key"):
        pretraining.arms_by_key([dataclasses.replace(corpus[0], key="")])


def test_stage_spec_folder_names_what_determines_the_run(tmp_path):
    params = load_params(params_path("smoke"))
    params.pretrain = CFG
    stage = pretraining.Stage((("final", 1000),))
    packed = {"final": tmp_path / "final"}
    spec = pretraining.stage_spec(stage, tmp_path / "init", 0, packed, params, tmp_path / "runs")
    again = pretraining.stage_spec(stage, tmp_path / "init", 0, packed, params, tmp_path / "runs")
    other_seed = pretraining.stage_spec(stage, tmp_path / "init", 1, packed, params, tmp_path / "runs")
    other_start = pretraining.stage_spec(stage, tmp_path / "base", 0, packed, params, tmp_path / "runs")
    assert spec.out == again.out and len({spec.out, other_seed.out, other_start.out}) == 3
    assert spec.lr == 1e-3 and spec.tokens == 1000 and spec.weights == [1.0] and spec.card["stage"] == "base"
    with pytest.raises(KeyError, match="python"):
        pretraining.stage_spec(pretraining.Stage((("python", 10),)), tmp_path, 0, packed, params, tmp_path)


def test_measure_names():
    assert pretraining.measure_name("gsm8k", "pot") == "GSM8K+Python"
    assert pretraining.measure_name("synth-code", "code") == "code pass@1"


def test_results_table_and_difference_resolve_a_real_effect():
    scores = _scores(effect=0.25)
    arms = [pretraining.Arm("good", (), "DeepSeekMath Corpus (120.2B)"), pretraining.Arm("bad", (), "")]
    table = pretraining.results_table(scores, arms, TABLE1)
    assert list(table["setting"]) == ["good", "bad"] and table.loc[0, "seeds"] == "0, 1"
    assert table.loc[0, "GSM8K (paper)"] == "23.8" and table.loc[1, "GSM8K (paper)"] == "-"
    mean = float(table.loc[0, "GSM8K (ours)"].split()[0])
    assert 35 < mean < 55  # a 0.45 solve rate over 400 draws (2 seeds x 200 problems)
    diff = pretraining.paired_difference(scores, "good", "bad")
    acc = diff[diff["measure"] == "GSM8K"].iloc[0]
    assert acc["resolved"] and acc["ci_low"] > 0


def test_judge_reads_verdicts_from_intervals():
    findings = [pretraining.Finding("good beats bad", "good", "bad", ("GSM8K", "GSM8K NLL"))]
    strong = pretraining.judge(_scores(effect=0.25), findings)
    assert list(strong["verdict"]) == ["reproduced", "reproduced"]  # NLL: lower is better, the sign flips
    null = pretraining.judge(_scores(effect=0.0, n=60), findings)
    assert null.loc[0, "verdict"] == "not resolved"
    reversed_ = pretraining.judge(_scores(effect=0.25), [pretraining.Finding("bad beats good", "bad", "good", ("GSM8K",))])
    assert reversed_.loc[0, "verdict"] == "reversed"


def test_seed_and_curve_tables():
    scores = _scores(effect=0.1, n=20)
    seeds = pretraining.seed_table(scores)
    assert set(seeds["seed"]) == {0, 1} and {"GSM8K", "GSM8K NLL"} <= set(seeds.columns)
    curves = scores.assign(tokens=np.where(scores["seed"] == 0, 100, 200))
    table = pretraining.curve_table(curves)
    assert set(table["tokens"]) == {100, 200} and set(table["measure"]) == {"GSM8K", "GSM8K NLL"}
    fig = pretraining.plot_curves(table)
    assert len(fig.axes) == 2
    assert pretraining.curve_table(pd.DataFrame()).empty


def test_mean_of_and_curve_checkpoints(tmp_path: Path):
    scores = _scores(effect=0.0, n=10)
    assert 0 <= pretraining.mean_of(scores, "good", "GSM8K") <= 1
    assert np.isnan(pretraining.mean_of(scores, "good", "MATH"))
    for tokens in (300, 40):
        (tmp_path / "curve" / str(tokens)).mkdir(parents=True)
    assert [t for t, _ in pretraining.curve_checkpoints(tmp_path / "final")] == [40, 300]
    assert pretraining.curve_checkpoints(tmp_path / "elsewhere" / "final") == []


def _two_corpus_world(tmp_path, params):
    """(tokenizer, artifacts folder with an init checkpoint, packed "general" and "final" corpora) for a toy run."""
    import json

    from dsmath_lib.model import build_model, save_model
    from dsmath_lib.tokenizer import train_tokenizer

    texts = {"general": [f"the weather is mild on day {i} and the road is long" for i in range(60)],
             "final": [f"Example. {i} + {i} = {2 * i}. Therefore the answer is {2 * i}." for i in range(60)]}
    tok = train_tokenizer([t for ts in texts.values() for t in ts], vocab_size=300)
    artifacts = tmp_path / "artifacts"
    save_model(build_model(params.model, tok, seed=0), tok, artifacts / "checkpoints" / "init", card={"stage": "init"})
    files = {}
    for name, lines in texts.items():
        files[name] = tmp_path / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps({"url": f"u/{i}", "text": t, "n_tokens": 9}) + "\n"
                                       for i, t in enumerate(lines)))
    packed = pretraining.pack_corpora(files, tok, 64, artifacts / "packed")
    return tok, artifacts, packed


def _short_run_params(**pretrain):
    """Smoke params at context 64 with a pretrain section of a few 4-row steps (two seeds), plus `pretrain`."""
    params = load_params(params_path("smoke"))
    params.model.context_length = 64
    params.pretrain = PretrainConfig(batch_size=4, micro_batch_size=2, warmup_steps=1, checkpoint_every=2,
                                     seeds=[0, 1], **pretrain)
    return params


def test_arms_train_once_per_shared_stage_then_score_and_publish(tmp_path):
    """Two arms sharing their first stage: the stage trains once; scores, curves and the base come out."""
    from dsmath_lib.eval.evaluate import EvalSpec
    from dsmath_lib.model import read_card
    from dsmath_lib.problem import Problem

    params = _short_run_params(math_tokens=512, first_stage_tokens=512, eval_points=2)
    _, artifacts, packed = _two_corpus_world(tmp_path, params)
    assert set(pretraining.corpus_sizes(packed)["corpus"]) == {"general", "final"}
    general, final = pretraining.Stage((("general", 512),)), pretraining.Stage((("final", 512),))
    arms = [pretraining.Arm("general only", (general,)), pretraining.Arm("general, then math", (general, final), seeds=(0, 1))]
    runs = pretraining.run_arms(arms, packed, params, artifacts)
    assert len(list((artifacts / "runs").glob("general-seed0-*"))) == 1  # the shared stage trained once
    assert read_card(artifacts / "runs" / "init-seed1")["stage"] == "init"  # seed 1 starts from its own init
    assert runs[("general only", 0)] == runs[("general, then math", 0)][:1]
    problems = [Problem(f"synth-gsm/test/{i}", "synth-gsm", f"{i} + {i}?", f"{i} + {i} = {2 * i}\nThe answer is {2 * i}.",
                        str(2 * i), "numeric", level=1) for i in range(3)]
    spec = EvalSpec.from_params(params, {"synth-gsm": problems}, {"synth-gsm": problems[:1]}, modes=(), nll=True)
    scores = pretraining.score_runs(runs, spec, artifacts / "evals")
    assert len(scores) == 3 * 3 and set(scores["mode"]) == {"nll"} and set(pretraining.SCORE_COLUMNS) <= set(scores)
    assert len(list((artifacts / "evals").glob("*.json"))) == 3  # one NLL unit per distinct final checkpoint
    # math after general predicts a worked sum better than general text alone
    assert pretraining.mean_of(scores, "general, then math", "GSM8K NLL") < pretraining.mean_of(scores, "general only", "GSM8K NLL")
    curves = pretraining.score_curves(runs, spec.subset(2), artifacts / "evals")
    stage1 = read_card(runs[("general, then math", 0)][0])["tokens"]
    assert curves[curves["arm"] == "general, then math"]["tokens"].min() > stage1  # counted over both stages
    best, base = pretraining.publish_base(scores.assign(score=-scores["score"]), runs, ["GSM8K NLL"],
                                       artifacts / "checkpoints" / "base", "test")
    assert best == "general, then math" and read_card(base)["stage"] == "base"


def test_every_arm_and_seed_continues_from_one_warm_start(tmp_path):
    """The shared warm start of 02-03: trained once, every arm and seed continues from it."""
    import json

    from dsmath_lib.model import read_card

    params = _short_run_params(warm_start_tokens=256, math_tokens=256, eval_points=0)
    _, artifacts, packed = _two_corpus_world(tmp_path, params)
    arms = [pretraining.Arm("math", (pretraining.Stage((("final", 256),)),), seeds=(0, 1)),
            pretraining.Arm("general", (pretraining.Stage((("general", 256),)),))]
    runs = pretraining.run_arms(arms, packed, params, artifacts)
    warm = list((artifacts / "runs").glob("warm-start-*"))
    assert len(warm) == 1 and read_card(warm[0] / "final")["name"] == "warm start"
    assert not (artifacts / "runs" / "init-seed1").exists()  # seed 1 shares the warm start, no init of its own
    for stages in runs.values():
        spec = json.loads((stages[0].parent / "spec.json").read_text())
        assert spec["init"] == str(warm[0] / "final")
    # a second call (notebook 03 after 02) trains nothing new
    before = sorted(p.name for p in (artifacts / "runs").iterdir())
    assert pretraining.warm_start(params, packed, artifacts) == warm[0] / "final"
    assert sorted(p.name for p in (artifacts / "runs").iterdir()) == before
    params.pretrain.warm_start_tokens = 0
    assert pretraining.warm_start(params, packed, artifacts) is None
