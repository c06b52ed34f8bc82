"""Tests for dsmath_lib.rl.methods and rl.ppo_trainer (notebook 06's trainers): RFT keeps only correct samples,
DPO pairs a correct and a wrong output of one question, each method trains a few steps on a smoke model with its
parameters changing (PPO's value model too), process advantages reach the loss per token, and iterative RL
replays its share of the PRM history and resets the reference to the policy."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import copy
import dataclasses
import doctest
import json
import math

import pytest
import torch

from dsmath_lib.config import GRPOConfig, ModelConfig, RLAblationConfig, WorldConfig
from dsmath_lib.model import build_model, read_card
from dsmath_lib.rl import methods as M
from dsmath_lib.rl import ppo_trainer as P
from dsmath_lib.rl import trainer as T
from dsmath_lib.rl.prm import build_prm, step_rewards
from dsmath_lib.rl.process import process_advantages
from dsmath_lib.rl.rollout import Rollout, make_sampler, rollout
from dsmath_lib.synth import generate_world
from dsmath_lib.tokenizer import train_tokenizer
from rl_rewards import parity_reward

CFG = GRPOConfig(steps=2, questions_per_step=2, group_size=4, lr=1e-3, micro_batch_size=4, max_new_tokens=10,
                 eval_every=2, rollout_batch_size=8)
ABL = RLAblationConfig(rft_batch_size=4, dpo_batch_size=2, prm_questions=2, prm_samples=2, prm_completions=2,
                       prm_epochs=1, prm_batch_size=4, prm_lr=1e-3, iterative_rounds=2, replay_share=0.5)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(n_train=20, n_test=2))


@pytest.fixture(scope="module")
def tok(world):
    return train_tokenizer([p.question + "\n" + p.solution for p in world.train], vocab_size=320)


@pytest.fixture(scope="module")
def sft(tok):
    return build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0).eval()


def fresh(sft):
    """A trainable copy of the SFT model (the trainers freeze `sft` itself, the reference, in place)."""
    return copy.deepcopy(sft).requires_grad_(True)


def changed(model, start) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(model.parameters(), start.parameters()))


def check_run(result, start, steps=CFG.steps):
    assert changed(result.policy, start)
    assert [h["step"] for h in result.history] == list(range(1, steps + 1))
    for row in result.history:
        assert math.isfinite(row["loss"]) and row["rollout_s"] >= 0 and row["update_s"] > 0
    assert read_card(result.path)["notebook"] == "06_rl_ablations"


def test_rft_keeps_only_correct_samples(world, tok, sft):
    batch = rollout(make_sampler("sampler", sft, tok), tok, world.train[:3], 4, max_new_tokens=10, seed=0)
    rewards = parity_reward(batch.texts, batch.problems)
    data = M.rft_dataset(batch, rewards)
    assert 0 < len(data) < len(batch) and data.group_size == 1
    assert data.texts == [t for t, r in zip(batch.texts, rewards) if r > 0]
    assert all(parity_reward([t], [p]) == [1.0] for t, p in zip(data.texts, data.problems))


def test_dpo_pairs_a_correct_and_a_wrong_output_of_one_question(world, tok, sft):
    batch = rollout(make_sampler("sampler", sft, tok), tok, world.train[:4], 4, max_new_tokens=10, seed=1)
    rewards = parity_reward(batch.texts, batch.problems)
    pairs = M.dpo_pairs(rewards, 4, per_question=2, seed=0)
    assert pairs and len({i for p in pairs for i in p}) == 2 * len(pairs)  # disjoint pairs
    for chosen, rejected in pairs:
        assert chosen // 4 == rejected // 4  # the same group: the same question
        assert batch.problems[chosen].id == batch.problems[rejected].id
        assert rewards[chosen] > 0 and rewards[rejected] == 0
    mixed = sum(1 for q in range(4) if 0 < sum(rewards[4 * q : 4 * q + 4]) < 4)
    assert len({c // 4 for c, _ in pairs}) == mixed  # every question with both kinds gives a pair
    assert M.dpo_pairs([1.0, 1.0, 0.0, 0.0], 2) == []  # all-correct and all-wrong groups give none


def test_rft_trains_on_sft_samples(world, tok, sft, tmp_path):
    policy = fresh(sft)
    result = M.train_rft(policy, sft, tok, world.train[:4], CFG, ABL, tmp_path, reward_fn=parity_reward,
                         progress=False, eval_problems=world.test["synth-gsm"][:1])
    check_run(result, sft)
    assert [e["step"] for e in result.evals] == [0, 2] and "accuracy/synth-gsm" in result.evals[0]
    assert all(h["reward_mean"] == 1.0 and math.isnan(h["kl"]) for h in result.history)  # correct only, no KL
    assert json.loads((tmp_path / "ablation.json").read_text())["ablation"]["rft_batch_size"] == ABL.rft_batch_size
    sampled = 4 * CFG.group_size  # run_questions of 2 steps x 2 questions cover all 4 questions
    assert result.data["sampled"] == sampled and 0 < result.data["correct"] < sampled
    assert all(h["outputs"] == ABL.rft_batch_size for h in result.history)


def test_offline_methods_without_data_train_nothing(world, tok, sft, tmp_path):
    """An SFT model that solves nothing leaves RFT no correct sample and DPO no pair: the runs take their steps
    without an update (the study goes on, the table says 0) instead of stopping."""
    never = lambda texts, problems: [0.0] * len(texts)  # noqa: E731
    for train, key in ((M.train_rft, "correct"), (M.train_dpo, "pairs")):
        result = train(fresh(sft), sft, tok, world.train[:4], CFG, ABL, tmp_path / key, reward_fn=never,
                       progress=False)
        assert result.data[key] == 0 and not changed(result.policy, sft)
        assert [h["outputs"] for h in result.history] == [0] * CFG.steps and math.isnan(result.history[0]["loss"])


def test_online_rft_uses_the_correctness_coefficient(world, tok, sft, tmp_path, monkeypatch):
    seen = []
    original = T.update
    monkeypatch.setattr(T, "update", lambda *a: seen.append(a) or original(*a))
    result = M.train_online_rft(fresh(sft), sft, tok, world.train, CFG, tmp_path, reward_fn=parity_reward,
                                progress=False)
    check_run(result, sft)
    _, _, batch, adv, cfg, *_ = seen[0]
    assert cfg.beta == 0.0 and adv.shape == (len(batch), max(batch.lengths))
    rewards = parity_reward(batch.texts, batch.problems)
    assert torch.equal(adv.max(1).values, torch.tensor(rewards))  # 1 on correct outputs' tokens, else 0


def test_dpo_trains_against_the_reference(world, tok, sft, tmp_path):
    # every step trains on all the pairs, so step 2's margin is measured on the pairs step 1 just trained on
    abl = dataclasses.replace(ABL, dpo_batch_size=1000)
    result = M.train_dpo(fresh(sft), sft, tok, world.train[:6], CFG, abl, tmp_path,
                         reward_fn=parity_reward, progress=False)
    check_run(result, sft)
    first, last = result.history[0], result.history[-1]
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5)  # policy == reference: -log sigmoid(0)
    assert first["dpo_margin"] == pytest.approx(0.0, abs=1e-5) and last["dpo_margin"] > 0  # o+ rose over o-
    assert last["loss"] < first["loss"]


def test_process_advantages_come_from_the_prm_per_group(world, tok, sft):
    prm = build_prm(sft, seed=0)
    batch = rollout(make_sampler("sampler", sft, tok), tok, world.train[:2], 3, max_new_tokens=10, seed=2)
    adv = M.process_advantage_fn(prm, tok)(batch, None)  # (N, T)
    rewards, ends = step_rewards(prm, tok, batch.prompt_ids, batch.completion_ids)
    T_ = max(batch.lengths)
    expected = torch.cat([process_advantages(rewards[a : a + 3], ends[a : a + 3], T_) for a in (0, 3)])
    assert adv.shape == (6, T_) and torch.equal(adv, expected)


def test_grpo_ps_trains_on_per_token_advantages(world, tok, sft, tmp_path, monkeypatch):
    seen = []
    original = T.update
    monkeypatch.setattr(T, "update", lambda *a: seen.append(a) or original(*a))
    result = M.train_grpo_ps(fresh(sft), sft, build_prm(sft, seed=0), tok, world.train, CFG, tmp_path,
                             progress=False)
    check_run(result, sft)
    _, _, batch, adv, cfg, *_ = seen[0]
    assert adv.shape == (len(batch), max(batch.lengths)) and cfg.beta == CFG.beta
    assert (adv != 0).any()  # the PRM's step rewards differ (a 10-token output of this model is one step)
    assert result.history[-1]["kl"] > 0  # the KL to the reference is in the loss, as train_grpo


def test_ppo_trains_policy_and_value_model(world, tok, sft, tmp_path):
    result = P.train_ppo(fresh(sft), sft, tok, world.train, CFG, ABL, tmp_path, reward_fn=parity_reward,
                         progress=False)
    check_run(result, sft)
    start_value = build_prm(sft, seed=0)
    assert changed(result.value, start_value)
    assert changed(result.value.base_model, start_value.base_model) and result.value_path.is_dir()
    row = result.history[-1]
    assert {"value_loss", "policy_loss", "value_grad_norm"} <= set(row) and row["value_loss"] > 0
    assert result.history[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # the first step's policy is the reference


def test_side_by_side_counts_the_value_models_state(world, tok, sft):
    table = P.compare_ppo_grpo(fresh(sft), sft, tok, world.train, CFG, ABL, steps=1, reward_fn=parity_reward)
    grpo, ppo = table.to_dict("records")
    assert (grpo["method"], ppo["method"]) == ("GRPO", "PPO")
    n_policy = sum(p.numel() * 4 for p in sft.parameters())  # float32 bytes
    n_value = sum(p.numel() * 4 for p in build_prm(sft).parameters())
    assert grpo["state_mb"] * 2**20 == 5 * n_policy  # policy: weights, grads, 2 AdamW moments; the reference
    assert ppo["state_mb"] * 2**20 == 5 * n_policy + 4 * n_value  # plus the trained value model
    assert grpo["response_length"] == ppo["response_length"]  # the same first rollout (same seed, same weights)
    assert math.isnan(grpo["cuda_peak_mb"]) and grpo["rss_peak_mb"] > 0  # on the CPU: no CUDA figure


def test_token_values_read_the_state_before_each_token(tok, sft):
    value = build_prm(sft, seed=0)
    prompt, completion = [1, 5, 6], [7, 8]
    ids, att, comp = Rollout([None], [prompt], [completion], [""], 1).tensors()
    v = P.token_values(value, ids, att, comp)  # (1, 2)
    full = value(input_ids=torch.tensor([prompt + completion])).logits[0, :, 0]
    assert torch.allclose(v[0], full[2:4], atol=1e-5)  # V(t) is the output at the token before o_t


def test_iterative_rl_replays_history_and_resets_the_reference(world, tok, sft, tmp_path, monkeypatch):
    cfg = GRPOConfig(**{**vars(CFG), "steps": 1})
    policy, ref = fresh(sft), copy.deepcopy(sft)
    prm, history, _ = M.initial_prm(sft, tok, world.train, cfg, ABL, reward_fn=parity_reward)
    mixes, starts, inits = [], [], []
    original_mix, original_round = M.replay_mix, M.train_grpo_ps

    def spy_mix(new, old, share, seed):
        mixed = original_mix(new, old, share=share, seed=seed)
        mixes.append((len(new), len(old), share, len(mixed)))
        return mixed

    def spy_round(policy, ref, *args, **kwargs):
        starts.append(all(torch.equal(a, b) for a, b in zip(policy.parameters(), ref.parameters())))
        inits.append(kwargs["init_checkpoint"])
        return original_round(policy, ref, *args, **kwargs)

    monkeypatch.setattr(M, "replay_mix", spy_mix)
    monkeypatch.setattr(M, "train_grpo_ps", spy_round)
    result = M.train_iterative(policy, ref, prm, tok, world.train, cfg, ABL, tmp_path, history,
                               reward_fn=parity_reward, progress=False, eval_problems=world.test["synth-gsm"][:1],
                               init_checkpoint="the SFT folder")
    assert len(result.rounds) == 2 and (tmp_path / "round-2" / "model").is_dir()
    assert inits == ["the SFT folder", tmp_path / "round-1" / "model"]  # round 2 starts from round 1's policy
    (n_new, n_old, share, n_mixed), = mixes  # one refresh, before round 2
    assert share == ABL.replay_share and n_old == len(history) > 0
    assert n_mixed - n_new == round(ABL.replay_share * len(history)) == result.refreshes[0]["replayed"]
    assert starts == [True, True]  # round 1: the copy of the SFT model; round 2: reset to the policy
    assert changed(result.rounds[0].policy, sft)  # round 1 did move the policy, so the reset was real
    assert [(e["round"], e["step"]) for e in result.evals()] == [(1, 0), (1, 1), (2, 1), (2, 2)]  # Figure 6's axis


def test_train_method_dispatches_by_table_10_name(world, tok, sft, tmp_path):
    abl = RLAblationConfig(steps=1, lr=1e-2)
    result = M.train_method("GRPO+OS", fresh(sft), sft, tok, world.train, CFG, abl, tmp_path,
                            reward_fn=parity_reward, progress=False)
    assert len(result.history) == 1 and changed(result.policy, sft)  # abl's steps, GRPO's own loop
    assert read_card(result.path)["method"] == "GRPO+OS"
    with pytest.raises(ValueError, match="prm="):
        M.train_method("GRPO+PS", None, sft, tok, world.train, CFG, abl, tmp_path)
    with pytest.raises(ValueError, match="not one of RFT, DPO, Online RFT, PPO, GRPO"):
        M.train_method("SFT", None, sft, tok, world.train, CFG, abl, tmp_path)


def test_method_config_shares_steps_and_lr():
    cfg = M.method_config(GRPOConfig(steps=30, lr=5e-5), RLAblationConfig(steps=12), beta=0.0)
    assert (cfg.steps, cfg.lr, cfg.beta) == (12, 5e-5, 0.0)
    cfg = M.method_config(GRPOConfig(eval_every=10, eval_problems=400), RLAblationConfig(eval_problems=50))
    assert (cfg.eval_every, cfg.eval_problems) == (10, 50)


def test_docstring_examples():
    for module in (M, P):
        assert doctest.testmod(module).failed == 0
