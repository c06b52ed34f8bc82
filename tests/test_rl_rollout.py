"""Tests for dsmath_lib.rl.rollout and dsmath_lib.rl.rewards: grouped rollouts as padded tensors, per-token
log-probs at temperature 1 against an unpadded reference, the engines, and the outcome reward."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import doctest

import pytest
import torch

from dsmath_lib.chat import COT_SUFFIX, chat_prompt
from dsmath_lib.config import ModelConfig
from dsmath_lib.model import build_model
from dsmath_lib.problem import Problem
from dsmath_lib.rl import rewards as W
from dsmath_lib.rl import rollout as R
from dsmath_lib.tokenizer import train_tokenizer


def _problems(n=3):
    return [Problem(f"t/{i}", "t", "Tom has " + "1 apple and " * i + f"{i} pears. How many?",
                    f"{i} + 1 = {i + 1}\nThe answer is {i + 1}.", str(i + 1), "numeric") for i in range(n)]


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([p.question + "\n" + p.solution for p in _problems(50)], vocab_size=300)


@pytest.fixture(scope="module")
def model(tok):
    model = build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0)
    with torch.no_grad():  # varied, confident continuations (a fresh model's logits are nearly flat)
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(4)
    return model.eval()


def test_rollout_groups_outputs_and_pads_them(model, tok):
    problems = _problems(3)  # prompts of different lengths: left padding differs per row
    sample = R.make_sampler("sampler", model, tok, batch_size=5)
    batch = R.rollout(sample, tok, problems, group_size=4, max_new_tokens=10, temperature=1.0, seed=0)
    assert len(batch) == 12 and [p.id for p in batch.problems] == [p.id for p in problems for _ in range(4)]
    assert batch.prompt_ids[5] == tok(chat_prompt(problems[1].question, COT_SUFFIX))["input_ids"]
    assert len({tuple(c) for c in batch.completion_ids[:4]}) > 1  # a group's outputs differ
    assert not {tok.pad_token_id, tok.bos_token_id} & {t for c in batch.completion_ids for t in c}
    ids, att, comp = batch.tensors(pad_id=tok.pad_token_id)
    n_tokens = comp.size(1)
    assert ids.shape == att.shape and comp.shape == (12, n_tokens) == (12, max(batch.lengths))
    for i in range(12):
        assert ids[i, -n_tokens:][comp[i].bool()].tolist() == batch.completion_ids[i]
        assert ids[i][att[i].bool()].tolist() == batch.prompt_ids[i] + batch.completion_ids[i]
    kept = batch.groups([2, 0])
    assert [p.id for p in kept.problems] == ["t/2"] * 4 + ["t/0"] * 4
    both = R.Rollout.concat([kept, batch.groups([1])], 4)
    assert len(both) == 12 and both.texts[8:] == batch.texts[4:8]
    again = R.rollout(sample, tok, problems, group_size=4, max_new_tokens=10, temperature=1.0, seed=0)
    assert again.completion_ids == batch.completion_ids  # seeded


def test_token_logprobs_match_an_unpadded_forward_at_temperature_one(model, tok):
    sample = R.make_sampler("sampler", model, tok)
    batch = R.rollout(sample, tok, _problems(3), group_size=2, max_new_tokens=8, temperature=1.5, seed=1)
    ids, att, comp = batch.tensors(pad_id=tok.pad_token_id)
    logp, entropy = R.token_logprobs(model, ids, att, comp, return_entropy=True)  # (N, T)
    assert logp.shape == comp.shape and torch.equal(logp[comp == 0], torch.zeros(int((comp == 0).sum())))
    for i in range(len(batch)):
        prompt, completion = batch.prompt_ids[i], batch.completion_ids[i]
        with torch.no_grad():
            logits = model(torch.tensor([prompt + completion])).logits[0, len(prompt) - 1 : -1].float()
        ref = torch.log_softmax(logits, -1)  # temperature 1, nothing excluded: the policy itself
        n = len(completion)
        assert torch.allclose(logp[i, :n], ref.gather(-1, torch.tensor(completion)[:, None])[:, 0], atol=1e-4)
        assert torch.allclose(entropy[i, :n], -(ref.exp() * ref).sum(-1), atol=1e-4)


def test_shared_prompt_forward_has_the_full_forwards_gradient(model, tok):
    sample = R.make_sampler("sampler", model, tok)
    batch = R.rollout(sample, tok, _problems(2), group_size=3, max_new_tokens=6, temperature=1.0, seed=2)
    ids, att, comp = batch.tensors(pad_id=tok.pad_token_id)
    weights = torch.linspace(-1, 1, ids.size(0))[:, None] * comp  # (N, T): some rows pushed up, some down
    grads = []
    for shared in (True, False):
        if shared:  # 2 distinct prompts for 6 rows: the prompt runs once per group
            logp = R.token_logprobs(model, ids, att, comp)
        else:  # the plain full-sequence forward, written out
            pos = (att.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=ids, attention_mask=att, position_ids=pos).logits[:, -comp.size(1) - 1 : -1]
            logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, -comp.size(1):, None])[..., 0] * comp
        (logp * weights).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
        model.zero_grad(set_to_none=True)
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    assert any(g.abs().max() > 1e-4 for g in grads[0])


def test_unknown_engine_names_the_params_key(model, tok):  # the vllm engine: tests/test_scale_out.py
    with pytest.raises(ValueError, match="grpo.rollout_engine"):
        R.make_sampler("hf", model, tok)


def test_outcome_rewards_use_the_graders_equivalence():
    num = Problem("t/0", "t", "q", "s", "12", "numeric")
    frac = Problem("t/1", "t", "q", "s", "\\frac{1}{2}", "latex")
    texts = ["so \\boxed{12}", "The answer is 12.00", "I get 13", "\\boxed{0.5}", "\\boxed{\\dfrac{1}{2}}", "x"]
    assert W.outcome_rewards(texts, [num, num, num, frac, frac, frac]) == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="2 completions but 1 problems"):
        W.outcome_rewards(["a", "b"], [num])


def test_docstring_examples():
    for module in (R, W):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
