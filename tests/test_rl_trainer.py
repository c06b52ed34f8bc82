"""Tests for dsmath_lib.rl.trainer: a short GRPO run on a smoke model and smoke-world problems (parameters
move, every field is logged, the policy is saved, a rerun resumes exactly), the variant fields that act in the
trainer (scale_rewards, dynamic_sampling_rounds), and the sign of the update of every preset on a 2-token toy
policy."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import copy
import doctest
import json
import math

import pytest
import torch

from dsmath_lib.config import GRPO_PRESETS, GRPOConfig, ModelConfig, WorldConfig
from dsmath_lib.model import build_model, read_card
from dsmath_lib.rl import grpo as G
from dsmath_lib.rl import trainer as T
from dsmath_lib.synth import generate_world
from dsmath_lib.tokenizer import train_tokenizer
from rl_rewards import parity_reward

CFG = GRPOConfig(steps=2, questions_per_step=2, group_size=4, lr=1e-3, micro_batch_size=3, max_new_tokens=12,
                 eval_every=1, rollout_batch_size=8)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(n_train=40, n_test=4))


@pytest.fixture(scope="module")
def tok(world):
    return train_tokenizer([p.question + "\n" + p.solution for p in world.train], vocab_size=350)


def fresh_policy(tok):
    return build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0)


@pytest.fixture(scope="module")
def straight_run(world, tok, tmp_path_factory):
    policy = fresh_policy(tok)
    out = tmp_path_factory.mktemp("grpo") / "run"
    result = T.train_grpo(policy, copy.deepcopy(policy), tok, world.train, CFG, out,
                          eval_problems=world.test["synth-gsm"][:2] + world.test["synth-math"][:1], progress=False,
                          reward_fn=parity_reward)
    return result, out


def test_short_run_moves_parameters_logs_everything_and_saves(straight_run, tok):
    result, out = straight_run
    start = fresh_policy(tok)
    changed = [not torch.equal(a, b) for a, b in zip(result.policy.parameters(), start.parameters())]
    assert all(changed)
    assert [h["step"] for h in result.history] == [1, 2]
    for row in result.history:
        assert set(row) == set(T.HISTORY_FIELDS)
        assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in row.values())
        assert 0 <= row["accuracy"] <= 1 and row["response_length"] > 0 and row["entropy"] > 0
        assert row["rollout_s"] > 0 and row["update_s"] > 0 and row["groups"] == 2
    assert result.history[0]["kl"] == 0.0  # the first step's policy is the reference
    assert result.history[1]["kl"] > 0.0  # after one update it is not
    assert [e["step"] for e in result.evals] == [0, 1, 2]
    assert set(result.evals[0]) == {"step", "accuracy", "accuracy/synth-gsm", "accuracy/synth-math"}
    assert result.path == out / "model" and read_card(result.path)["stage"] == "rl"
    saved = json.loads((out / "history.json").read_text())
    assert saved["history"] == result.history and json.loads((out / "config.json").read_text())["seed"] == 0


def test_rerun_resumes_where_it_stopped(straight_run, world, tok, tmp_path):
    result, _ = straight_run
    policy = fresh_policy(tok)
    ref = copy.deepcopy(policy)
    T.train_grpo(policy, ref, tok, world.train, GRPOConfig(**{**vars(CFG), "steps": 1}), tmp_path, progress=False,
                 reward_fn=parity_reward)  # "interrupted" after step 1
    assert (tmp_path / "resume" / "state.pt").is_file()
    policy = fresh_policy(tok)  # a new process: fresh weights, restored from the resume state
    resumed = T.train_grpo(policy, ref, tok, world.train, CFG, tmp_path, progress=False, reward_fn=parity_reward)
    assert [h["step"] for h in resumed.history] == [1, 2]
    for a, b in zip(resumed.history, result.history):
        assert {k: v for k, v in a.items() if not k.endswith("_s")} == {k: v for k, v in b.items()
                                                                         if not k.endswith("_s")}
    for a, b in zip(resumed.policy.parameters(), result.policy.parameters()):
        assert torch.equal(a, b)  # the same weights as the uninterrupted run


def test_checks_of_saved_models_are_cached_evaluations(straight_run, world, tok, tmp_path, monkeypatch):
    """With eval_cache, the step-0 check is the cached evaluation of init_checkpoint and the last one that of the
    saved final policy: the same numbers as the checks in memory, and a second run from the same start decodes
    neither again (its middle check is all the evaluation decodes)."""
    from dsmath_lib import sampling
    from dsmath_lib.model import save_model

    result, _ = straight_run
    held_out = world.test["synth-gsm"][:2] + world.test["synth-math"][:1]
    init, cache = save_model(fresh_policy(tok), tok, tmp_path / "init"), tmp_path / "evals"
    decoded, generate = [], sampling.generate
    monkeypatch.setattr(sampling, "generate", lambda model, tok, prompts, **kw: decoded.append(len(prompts))
                        or generate(model, tok, prompts, **kw))

    def run(out):
        return T.train_grpo(fresh_policy(tok), fresh_policy(tok), tok, world.train, CFG, out, eval_problems=held_out,
                            progress=False, reward_fn=parity_reward, eval_cache=cache, init_checkpoint=init)

    first = run(tmp_path / "run")
    assert first.evals == result.evals  # the same accuracies as the checks of the policy in memory
    untimed = [{k: v for k, v in h.items() if not k.endswith("_s")} for h in result.history]
    assert [{k: v for k, v in h.items() if not k.endswith("_s")} for h in first.history] == untimed
    assert len(list(cache.glob("*.json"))) == 4  # (start, final) x 2 benchmarks; the middle check is not cached
    decoded.clear()
    second = run(tmp_path / "again")
    assert second.evals == first.evals and len(list(cache.glob("*.json"))) == 4
    assert sum(decoded) == len(held_out)  # evaluation decodes step 1's check only (rollouts sample via rl.rollout)


def test_resume_state_loads_onto_the_policys_device(tok, tmp_path, monkeypatch):
    policy = fresh_policy(tok)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    T._save_state(tmp_path / "state.pt", policy, optimizer, 3, [{"step": 3}], [])
    asked, load = {}, torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: asked.update(k) or load(*a, **k))
    assert T._load_state(tmp_path / "state.pt", policy, optimizer) == (3, [{"step": 3}], [])
    assert asked["map_location"] == next(policy.parameters()).device  # a GPU's state resumes on a CPU


def train_one_step(cfg, world, tok, out, reward_fn):
    """One step of train_grpo; returns its history row and what reached `update` (batch, advantages)."""
    seen = []
    original = T.update

    def spy(policy, ref, batch, advantages, *args):
        seen.append((batch, advantages))
        return original(policy, ref, batch, advantages, *args)

    T.update = spy
    try:
        result = T.train_grpo(fresh_policy(tok), fresh_policy(tok), tok, world.train, cfg, out, progress=False,
                              reward_fn=reward_fn)
    finally:
        T.update = original
    return result.history[0], seen[0]


def gsm_only(texts, problems):  # synth-math groups all get 0: no signal, dynamic sampling drops them
    return [float(len(t) % 2) if p.benchmark == "synth-gsm" else 0.0 for t, p in zip(texts, problems)]


def test_dynamic_sampling_alone_drops_all_equal_groups_and_samples_more(world, tok, tmp_path):
    cfg = GRPOConfig(**{**vars(CFG), "steps": 1, "questions_per_step": 3, "dynamic_sampling_rounds": 3})
    assert {k: getattr(cfg, k) for k in ("scale_rewards", "loss_normaliser", "clip_eps_high")} == {
        k: v for k, v in GRPO_PRESETS["grpo"].items() if k != "dynamic_sampling_rounds"}  # the paper's otherwise
    row, (batch, _) = train_one_step(cfg, world, tok, tmp_path, gsm_only)
    assert row["zero_std_share"] > 0 and row["rounds"] > 1
    assert row["groups"] <= 3 and len(batch) == row["groups"] * 4
    assert {p.benchmark for p in batch.problems} == {"synth-gsm"}  # only groups with mixed rewards were trained on


def test_one_round_is_no_dynamic_sampling_even_in_the_dapo_preset(world, tok, tmp_path):
    cfg = GRPOConfig.from_preset("dapo", **{**vars(CFG), "steps": 1, "questions_per_step": 3,
                                            "dynamic_sampling_rounds": 1})
    row, (batch, _) = train_one_step(cfg, world, tok, tmp_path, gsm_only)
    assert row["rounds"] == 1 and row["groups"] == 3 and len(batch) == 12  # every group kept, all-equal ones too


@pytest.mark.parametrize("scale", [True, False])
def test_scale_rewards_alone_sets_the_advantages(scale, world, tok, tmp_path):
    cfg = GRPOConfig(**{**vars(CFG), "steps": 1, "scale_rewards": scale})
    _, (batch, advantages) = train_one_step(cfg, world, tok, tmp_path, parity_reward)
    rewards = torch.tensor(parity_reward(batch.texts, batch.problems)).view(-1, CFG.group_size)  # (B, G)
    centred = rewards - rewards.mean(1, keepdim=True)  # (B, G)
    assert (rewards.std(1) > 0).any() and (rewards.std(1) != 1).any()  # so the two settings differ
    expected = centred / (rewards.std(1, keepdim=True) + G.STD_EPS) if scale else centred  # Dr. GRPO: no std
    assert torch.allclose(advantages, expected.flatten(), atol=1e-6, rtol=0)


def test_several_updates_per_step_engage_the_clip(world, tok, tmp_path):
    # mu = 3: pi_old is fixed before the first pass, so later passes have ratio != 1 and the clip acts
    cfg = GRPOConfig(**{**vars(CFG), **GRPO_PRESETS["dr_grpo"], "steps": 1, "updates_per_step": 3, "lr": 1e-2,
                        "beta": 0.0})
    row = T.train_grpo(fresh_policy(tok), fresh_policy(tok), tok, world.train, cfg, tmp_path, progress=False,
                       reward_fn=parity_reward).history[0]
    assert row["clip_frac"] > 0 and row["clip_frac"] == pytest.approx(row["clip_low"] + row["clip_high"])
    assert math.isnan(row["kl"])  # beta 0: no reference forward, the KL is not measured


@pytest.mark.parametrize("preset", list(GRPO_PRESETS))
def test_update_raises_the_probability_of_the_rewarded_answer(preset):
    cfg = GRPOConfig.from_preset(preset)
    theta = torch.zeros(2, requires_grad=True)  # a 2-token policy: one answer, "0" or "1"
    opt = torch.optim.SGD([theta], lr=0.5)
    gen = torch.Generator().manual_seed(0)
    ref_logp = torch.log_softmax(theta.detach(), -1)
    for _ in range(20):
        logp_all = torch.log_softmax(theta, -1)  # (2,)
        answers = torch.multinomial(logp_all.detach().exp(), 8, replacement=True, generator=gen)  # G = 8
        rewards = (answers == 1).float()[None]  # (1, G): answer "1" is right
        adv = G.group_advantages(rewards, scale=cfg.scale_rewards).flatten()
        logp = logp_all[answers][:, None]  # (G, 1)
        loss, _ = G.grpo_loss(logp, logp.detach(), ref_logp[answers][:, None], adv, torch.ones(8, 1),
                              cfg.loss_normaliser, cfg.clip_eps, cfg.clip_eps_high)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.softmax(theta, -1)[1] > 0.9


def test_question_draws_are_seeded_per_step():
    assert T.step_questions(50, 4, 3, seed=0) == T.step_questions(50, 4, 3, seed=0)
    assert T.step_questions(50, 4, 3, seed=0) != T.step_questions(50, 4, 3, seed=1)
    first_epoch = [i for s in range(10) for i in T.step_questions(20, 2, s, seed=0)]
    assert sorted(first_epoch) == list(range(20))


def test_bad_config_names_the_key(world, tok, tmp_path):
    with pytest.raises(ValueError, match="grpo.group_size"):
        T.train_grpo(None, None, tok, world.train, GRPOConfig(group_size=0), tmp_path)
    with pytest.raises(ValueError, match="grpo.dynamic_sampling_rounds"):
        T.train_grpo(None, None, tok, world.train, GRPOConfig(dynamic_sampling_rounds=0), tmp_path)
    with pytest.raises(ValueError, match="no RL questions"):
        T.train_grpo(None, None, tok, [], CFG, tmp_path)


def test_docstring_examples():
    result = doctest.testmod(T)
    assert result.attempted > 0 and result.failed == 0
