"""Tests for dsmath_lib.sampling: the batched KV-cache loop against a no-cache reference, seeds, top-p,
stop strings, eos, grouping of samples and logprobs."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import copy
import doctest

import pytest
import torch

from dsmath_lib import sampling as S
from dsmath_lib.config import ModelConfig
from dsmath_lib.model import build_model
from dsmath_lib.tokenizer import train_tokenizer

# different lengths on purpose (and not sorted), so rows carry different amounts of left padding
PROMPTS = ["Tom", "Tom has 12 apples and 36 pears.\nTom has", "7", "and 9 9 9 9 9 9 9 9", "pears and apples"]


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([f"Tom has {i} apples and {i * 3} pears.\n" for i in range(300)], vocab_size=300)


@pytest.fixture(scope="module")
def model(tok):
    model = build_model(ModelConfig(size="smoke", context_length=128), tok, seed=0)
    # A fresh model's logits are nearly flat and its greedy output repeats one token, which would hide
    # a position bug; larger weights give varied, confident continuations.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(8)
    return model.eval()


def allowed(logits, tok):
    """The model's logits with <|pad|> and <|bos|> ruled out, as the sampler rules them out."""
    return logits.index_fill(-1, torch.tensor([tok.pad_token_id, tok.bos_token_id]), float("-inf"))


def reference_greedy(model, tok, prompt, n):
    """One prompt, no padding, no cache: the full sequence re-run every step. Returns (ids, logprobs)."""
    ids, new, logps = tok(prompt)["input_ids"], [], []
    with torch.no_grad():
        for _ in range(n):
            logits = allowed(model(torch.tensor([ids + new])).logits[0, -1].float(), tok)
            new.append(int(logits.argmax()))
            logps.append(float(torch.log_softmax(logits, -1)[new[-1]]))
    return new, torch.tensor(logps)


def test_batched_cache_greedy_equals_unbatched_no_cache(model, tok):
    outs = S.generate(model, tok, PROMPTS, max_new_tokens=12, batch_size=3, return_logprobs=True)
    assert [o.prompt_index for o in outs] == list(range(len(PROMPTS)))
    for prompt, out in zip(PROMPTS, outs):
        ids, logps = reference_greedy(model, tok, prompt, 12)
        assert out.token_ids == ids, prompt
        assert torch.allclose(out.logprobs, logps, atol=1e-4), prompt
        assert out.finish_reason == "length" and out.n_tokens == 12
    assert len({tuple(o.token_ids) for o in outs}) > 1  # the outputs differ, so the check has teeth


def test_temperature_zero_is_deterministic_and_ignores_seed(model, tok):
    a = S.generate(model, tok, PROMPTS, max_new_tokens=8, seed=0)
    b = S.generate(model, tok, PROMPTS, max_new_tokens=8, seed=99, batch_size=2)
    assert [o.token_ids for o in a] == [o.token_ids for o in b]


def test_seed_repeats_and_different_seed_differs(model, tok):
    kw = dict(max_new_tokens=10, temperature=1.0, num_samples=3)
    a = S.generate(model, tok, PROMPTS, seed=1, **kw)
    b = S.generate(model, tok, PROMPTS, seed=1, **kw)
    c = S.generate(model, tok, PROMPTS, seed=2, **kw)
    assert [o.token_ids for o in a] == [o.token_ids for o in b]
    assert [o.token_ids for o in a] != [o.token_ids for o in c]
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    S.generate(model, tok, PROMPTS[:1], seed=1, **kw)
    assert torch.equal(torch.rand(1), before)  # the global RNG is untouched


def test_samples_are_grouped_per_prompt(model, tok):
    outs = S.generate(model, tok, PROMPTS, max_new_tokens=6, temperature=1.0, num_samples=4, batch_size=7)
    assert len(outs) == len(PROMPTS) * 4
    assert [(o.prompt_index, o.sample_index) for o in outs] == [(i, j) for i in range(len(PROMPTS)) for j in range(4)]
    group = {tuple(o.token_ids) for o in outs[4:8]}
    assert len(group) > 1  # samples of one prompt differ


def test_tiny_top_p_is_greedy(model, tok):
    greedy = S.generate(model, tok, PROMPTS, max_new_tokens=10)
    nucleus = S.generate(model, tok, PROMPTS, max_new_tokens=10, temperature=1.5, top_p=1e-6, seed=3)
    assert [o.token_ids for o in nucleus] == [o.token_ids for o in greedy]


def test_sampled_logprobs_match_the_tempered_model(model, tok):
    out = S.generate(model, tok, PROMPTS[1:2], max_new_tokens=8, temperature=0.7, seed=4, return_logprobs=True)[0]
    ids = tok(PROMPTS[1])["input_ids"] + out.token_ids
    with torch.no_grad():
        logits = allowed(model(torch.tensor([ids])).logits[0].float(), tok) / 0.7
    n = len(out.token_ids)
    expected = torch.log_softmax(logits[-n - 1 : -1], -1).gather(-1, torch.tensor(out.token_ids)[:, None])[:, 0]
    assert torch.allclose(out.logprobs, expected, atol=1e-4)
    weight = torch.ones(1, requires_grad=True)
    (out.logprobs * weight).sum().backward()  # usable in an autograd loss (not an inference tensor)
    assert weight.grad is not None


def test_pad_and_bos_are_never_sampled(model, tok):
    banned = [tok.pad_token_id, tok.bos_token_id]
    assert S.never_sampled(tok, {tok.eos_token_id}) == sorted(banned)
    assert tok.pad_token_id not in S.never_sampled(tok, {tok.pad_token_id})  # an eos that is also pad stays

    def favour_banned(module, args, out):  # a model that would almost always pick pad or bos
        out.logits[..., banned] += 50.0
        return out

    hook = model.register_forward_hook(favour_banned)
    try:
        outs = (S.generate(model, tok, PROMPTS, max_new_tokens=6, return_logprobs=True)
                + S.generate(model, tok, PROMPTS, max_new_tokens=6, temperature=1.0, num_samples=4, seed=0,
                             return_logprobs=True))
    finally:
        hook.remove()
    assert all(o.n_tokens == 6 for o in outs)
    assert not {t for o in outs for t in o.token_ids} & set(banned)
    assert all(torch.isfinite(o.logprobs).all() for o in outs)


def _clean_substring(text, start):
    """A 2-character piece of text at or after `start` with no replacement characters."""
    for i in range(start, len(text) - 1):
        piece = text[i : i + 2]
        if "\ufffd" not in piece and "<" not in piece and piece.strip():
            return piece
    raise AssertionError(f"no clean substring in {text!r}")


def test_stop_strings_cut_text_and_stop_growth(model, tok):
    free = S.generate(model, tok, PROMPTS, max_new_tokens=16)
    stop = _clean_substring(free[1].text, 3)
    outs = S.generate(model, tok, PROMPTS, max_new_tokens=16, stop=[stop, "never-seen"])
    cut = outs[1]
    assert cut.finish_reason == "stop"
    assert cut.text == free[1].text[: free[1].text.find(stop)]
    assert free[1].token_ids[: cut.n_tokens] == cut.token_ids and cut.n_tokens < 16
    assert stop in tok.decode(cut.token_ids)  # the stopping token is kept in token_ids
    for f, o in zip(free, outs):
        if stop not in f.text:
            assert o.token_ids == f.token_ids and o.finish_reason == "length"


def test_eos_stops_a_row_and_is_not_text(model, tok):
    free = S.generate(model, tok, PROMPTS, max_new_tokens=12)
    eos_id = free[0].token_ids[4]
    custom = copy.deepcopy(tok)
    custom.eos_token = tok.convert_ids_to_tokens(eos_id)
    outs = S.generate(model, custom, PROMPTS, max_new_tokens=12)
    first = free[0].token_ids.index(eos_id)
    assert outs[0].finish_reason == "eos"
    assert outs[0].token_ids == free[0].token_ids[: first + 1]
    assert outs[0].text == tok.decode(free[0].token_ids[:first])


def test_loop_ends_when_all_rows_stop(model, tok):
    free = S.generate(model, tok, PROMPTS[:1], max_new_tokens=12)
    custom = copy.deepcopy(tok)
    custom.eos_token = tok.convert_ids_to_tokens(free[0].token_ids[2])
    calls = []
    hook = model.register_forward_hook(lambda *args: calls.append(1))
    try:
        out = S.generate(model, custom, PROMPTS[:1], max_new_tokens=12)[0]
    finally:
        hook.remove()
    assert out.finish_reason == "eos"
    assert len(calls) == out.n_tokens  # prefill + one step per token but the last, not 12


def test_overlong_request_warns_and_empty_prompt_fails(model, tok):
    with pytest.warns(UserWarning, match="context"):
        S.generate(model, tok, ["Tom has 1 apple. " * 20], max_new_tokens=1)
    tok_no_bos = copy.deepcopy(tok)
    tok_no_bos._tokenizer.post_processor = None  # like a hub tokenizer that adds nothing
    with pytest.raises(ValueError, match="prompt 1"):
        S.generate(model, tok_no_bos, ["Tom", ""], max_new_tokens=1)


def test_docstring_examples():
    result = doctest.testmod(S)
    assert result.attempted > 0 and result.failed == 0
