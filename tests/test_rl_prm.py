"""Tests for dsmath_lib.rl.prm: the scalar-head PRM built from a causal LM (Llama and Qwen2), its save/load
round trip, scores at step ends against an unpadded forward, the BCE loss, a short training run, the
metrics (rank AUC on hand cases) and step rewards in the shape rl.process takes."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import doctest
import math
import random

import pytest
import torch
from transformers import AutoModelForCausalLM, Qwen2Config

from dsmath_lib.chat import COT_SUFFIX, chat_prompt
from dsmath_lib.config import ModelConfig
from dsmath_lib.model import build_model, read_card, save_model
from dsmath_lib.rl import prm as M
from dsmath_lib.rl.prm_labels import PRMExample, step_ends
from dsmath_lib.rl.process import process_advantages
from dsmath_lib.tokenizer import train_tokenizer


def _texts(n):
    return [(f"Tom has {i} apples and buys {i % 4 + 1} more. How many?",
             f"Tom has {i} apples.\nHe buys {i % 4 + 1} more.\n" + "So he has more.\n" * (i % 3)
             + f"The answer is {i + i % 4 + 1}.") for i in range(n)]


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([q + "\n" + s for q, s in _texts(40)], vocab_size=300)


@pytest.fixture(scope="module")
def policy(tok):
    return build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0).eval()


@pytest.fixture(scope="module")
def examples(tok):
    """Solutions of 3-5 steps whose labels a PRM can learn: a step is labelled 1 when its line mentions
    "buys" or states the answer (a soft 0.75 for the answer line), else 0."""
    out = []
    for i, (question, solution) in enumerate(_texts(8)):
        ids = tok(solution, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        lines = [x for x in solution.splitlines() if x.strip()]
        labels = [0.75 if "answer" in x else float("buys" in x) for x in lines]
        out.append(PRMExample(f"t/{i}", tok(chat_prompt(question, COT_SUFFIX))["input_ids"], ids,
                              step_ends(tok, [ids])[0], labels))
    return out


def test_build_prm_keeps_the_trunk_and_adds_a_scalar_head(policy, tok, tmp_path):
    state = torch.random.get_rng_state()
    prm = M.build_prm(policy, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is left alone
    assert type(prm).__name__ == "LlamaForTokenClassification" and prm.score.weight.shape == (1, 64)
    assert prm.dropout.p == 0.0
    for (name, a), b in zip(prm.base_model.named_parameters(), policy.base_model.parameters()):
        assert torch.equal(a, b), name
    assert torch.equal(M.build_prm(policy, seed=1).score.weight, prm.score.weight)  # seeded head
    path = save_model(policy, tok, tmp_path / "sft")
    from_disk = M.build_prm(path, seed=1)  # from a checkpoint folder, as notebooks call it
    assert torch.equal(from_disk.base_model.embed_tokens.weight, policy.base_model.embed_tokens.weight)
    assert from_disk.dropout.p == 0.0 and from_disk.config.num_labels == 1
    assert torch.equal(M.build_prm(path, seed=1).score.weight, from_disk.score.weight)  # seeded here too
    qwen = AutoModelForCausalLM.from_config(Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=96,
                                                        num_hidden_layers=1, num_attention_heads=2,
                                                        num_key_value_heads=1))
    qprm = M.build_prm(qwen)
    assert type(qprm).__name__ == "Qwen2ForTokenClassification"
    assert qprm(input_ids=torch.tensor([[1, 5, 6]])).logits.shape == (1, 3, 1)


def test_save_and_load_give_identical_scores(policy, tok, examples, tmp_path):
    prm = M.build_prm(policy, seed=2)
    with torch.no_grad():
        prm.score.bias.fill_(0.3)  # a head that differs from a fresh one's
    path = M.save_prm(prm, tok, tmp_path / "prm", card={"description": "test"})
    assert read_card(path) == {"name": "prm", "stage": "prm", "description": "test"}
    loaded, loaded_tok = M.load_prm(path)
    assert not loaded.training and len(loaded_tok) == len(tok)
    ex = examples[:3]
    args = ([e.prompt_ids for e in ex], [e.completion_ids for e in ex], [e.step_ends for e in ex])
    with torch.no_grad():
        assert torch.equal(M.step_logits(loaded, *args), M.step_logits(prm.eval(), *args))
    with pytest.raises(ValueError, match="not a PRM"):
        M.load_prm(save_model(policy, tok, tmp_path / "policy"))
    with pytest.raises(FileNotFoundError):
        M.load_prm(tmp_path / "nothing")


def test_step_logits_read_each_steps_last_token_like_an_unpadded_forward(policy, tok, examples):
    prm = M.build_prm(policy, seed=3).eval()
    ex = examples[:5]  # prompts and completions of different lengths: left and right padding differ per row
    with torch.no_grad():
        flat = M.step_logits(prm, [e.prompt_ids for e in ex], [e.completion_ids for e in ex],
                             [e.step_ends for e in ex], pad_id=tok.pad_token_id)
        ref = []
        for e in ex:
            logits = prm(input_ids=torch.tensor([e.prompt_ids + e.completion_ids])).logits[0, :, 0]  # (P + T,)
            ref += [logits[len(e.prompt_ids) + end - 1] for end in e.step_ends]
    assert flat.shape == (sum(len(e.step_ends) for e in ex),)
    assert torch.allclose(flat, torch.stack(ref), atol=1e-5)


def test_token_scores_of_a_left_padded_row_equal_its_unpadded_forward(policy, tok, examples):
    prm = M.build_prm(policy, seed=3).eval()
    short, long = examples[0].prompt_ids, examples[1].prompt_ids + examples[1].completion_ids
    width = max(len(short), len(long))
    rows = [[tok.pad_token_id] * (width - len(r)) + r for r in (short, long)]  # (2, width), left-padded
    att = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in (short, long)])
    with torch.no_grad():
        scores = M.token_scores(prm, torch.tensor(rows), att)  # (2, width)
        for i, r in enumerate((short, long)):
            alone = prm(input_ids=torch.tensor([r])).logits[0, :, 0]  # (len(r),)
            assert torch.allclose(scores[i, width - len(r):], alone, atol=1e-5)
    assert scores.shape == (2, width) and scores.dtype == torch.float32


def test_prm_loss_is_bce_with_logits_at_step_ends(policy, tok, examples):
    prm = M.build_prm(policy, seed=4)
    batch = examples[:4]
    loss = M.prm_loss(prm, batch, pad_id=tok.pad_token_id)
    with torch.no_grad():
        s = torch.sigmoid(M.step_logits(prm, [e.prompt_ids for e in batch], [e.completion_ids for e in batch],
                                        [e.step_ends for e in batch], tok.pad_token_id))
    y = torch.tensor([v for e in batch for v in e.labels])
    assert loss.requires_grad and loss.shape == ()
    assert torch.allclose(loss, -(y * s.log() + (1 - y) * (1 - s).log()).mean(), atol=1e-6)


def test_train_prm_moves_parameters_and_lowers_the_loss(policy, tok, examples):
    prm = M.build_prm(policy, seed=5)
    start = [p.detach().clone() for p in prm.parameters()]
    history = M.train_prm(prm, tok, examples, lr=3e-3, epochs=20, batch_size=4, max_steps=24, seed=0,
                          progress=False)
    assert [h["step"] for h in history] == list(range(1, 25)) and history[-1]["epoch"] == 11
    assert all(math.isfinite(h["loss"]) for h in history) and not prm.training
    assert all(not torch.equal(a, b) for a, b in zip(prm.parameters(), start))
    first, last = sum(h["loss"] for h in history[:3]) / 3, sum(h["loss"] for h in history[-3:]) / 3
    assert last < 0.7 * first
    before = M.prm_metrics(M.build_prm(policy, seed=5), tok, examples)
    after = M.prm_metrics(prm, tok, examples)
    assert after["accuracy"] > before["accuracy"] and after["auc"] > 0.9
    with pytest.raises(ValueError, match="no example"):
        M.train_prm(prm, tok, [], progress=False)


def test_auc_hand_cases():
    assert M.auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0  # perfect
    assert M.auc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0  # reversed
    assert M.auc([0.5] * 4, [False, True, False, True]) == 0.5  # all tied
    assert M.auc([0.1, 0.5, 0.5, 0.9], [False, False, True, True]) == 0.875  # one tied pair counts half
    assert math.isnan(M.auc([0.1, 0.2], [True, True])) and math.isnan(M.auc([], []))
    rng = random.Random(0)
    scores = [rng.choice([0.1, 0.2, 0.3, 0.4]) for _ in range(60)]  # many ties
    labels = [rng.random() < 0.4 for _ in range(60)]
    pairs = [(p, n) for p, y in zip(scores, labels) if y for n, z in zip(scores, labels) if not z]
    brute = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert M.auc(scores, labels) == pytest.approx(brute, abs=1e-12)


def test_prm_metrics_threshold_hard_and_soft_labels(policy, tok, examples):
    prm = M.build_prm(policy, seed=6)
    with torch.no_grad():  # a constant PRM: sigmoid(2) > 0.5 at every step
        prm.score.weight.zero_()
        prm.score.bias.fill_(2.0)
    m = M.prm_metrics(prm, tok, examples, batch_size=3)
    labels = [y for e in examples for y in e.labels]
    positive = sum(y >= 0.5 for y in labels) / len(labels)  # the soft 0.75 counts as positive
    assert m["steps"] == len(labels) and m["positive_share"] == pytest.approx(positive)
    assert m["accuracy"] == pytest.approx(positive) and m["auc"] == 0.5  # all scores tied
    soft = [PRMExample("s", examples[0].prompt_ids, examples[0].completion_ids, examples[0].step_ends[:2] +
                       [examples[0].step_ends[-1]], [0.4, 0.6, 0.5])]
    assert M.prm_metrics(prm, tok, soft)["accuracy"] == pytest.approx(2 / 3)  # 0.4 is negative, 0.5 positive


def test_step_rewards_feed_process_advantages(policy, tok, examples):
    prm = M.build_prm(policy, seed=7).train()
    prompts = [e.prompt_ids for e in examples[:4]]
    completions = [e.completion_ids for e in examples[:3]] + [[tok.eos_token_id]]  # the last has no step
    rewards, ends = M.step_rewards(prm, tok, prompts, completions, batch_size=3)
    assert prm.training  # its mode is restored
    assert ends == step_ends(tok, completions) and ends[-1] == [] and rewards[-1] == []
    assert [len(r) for r in rewards] == [len(e) for e in ends] and all(0 < x < 1 for r in rewards for x in r)
    with torch.no_grad():
        probs = torch.sigmoid(M.step_logits(prm.eval(), prompts[:3], completions[:3], ends[:3]))
    assert torch.allclose(torch.tensor([x for r in rewards for x in r]), probs, atol=1e-6)
    length = max(len(c) for c in completions)
    adv = process_advantages(rewards, ends, length=length)  # one group of 4 outputs
    assert adv.shape == (4, length) and torch.equal(adv[3], torch.zeros(length))
    assert all(adv[i, len(c) - 1] != 0 for i, c in enumerate(completions[:3]))  # the eos token has an advantage


def test_docstring_examples():
    result = doctest.testmod(M)
    assert result.attempted > 0 and result.failed == 0
