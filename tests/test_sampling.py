"""Tests for dsmath_lib.sampling: the batched KV-cache loop against a no-cache reference and HF generate,
the lean engine against the reference engine (greedy, seeded samples, logprobs, eos and stop strings as rows
leave the batch), shared-prefix groups, the random-stream contract, and the fallback for other models."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import copy
import doctest

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, Qwen2Config, Qwen2ForCausalLM

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


@pytest.mark.parametrize("engine", ["lean", "reference"])
def test_pad_and_bos_are_never_sampled(model, tok, engine):
    banned = [tok.pad_token_id, tok.bos_token_id]
    assert S.never_sampled(tok, {tok.eos_token_id}) == sorted(banned)
    assert tok.pad_token_id not in S.never_sampled(tok, {tok.pad_token_id})  # an eos that is also pad stays

    def favour_banned(module, args, out):  # a model that would almost always pick pad or bos
        out[..., banned] += 50.0
        return out

    hook = model.lm_head.register_forward_hook(favour_banned)  # both engines call lm_head
    try:
        outs = (S.generate(model, tok, PROMPTS, max_new_tokens=6, return_logprobs=True, engine=engine)
                + S.generate(model, tok, PROMPTS, max_new_tokens=6, temperature=1.0, num_samples=4, seed=0,
                             return_logprobs=True, engine=engine))
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


@pytest.mark.parametrize("engine", ["lean", "reference"])
def test_loop_ends_when_all_rows_stop(model, tok, engine):
    free = S.generate(model, tok, PROMPTS[:1], max_new_tokens=12)
    custom = copy.deepcopy(tok)
    custom.eos_token = tok.convert_ids_to_tokens(free[0].token_ids[2])
    calls = []
    hook = model.lm_head.register_forward_hook(lambda *args: calls.append(1))  # one call per forward
    try:
        out = S.generate(model, custom, PROMPTS[:1], max_new_tokens=12, engine=engine)[0]
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


@pytest.mark.parametrize("module", [S.decoding, S.lean, S.prefix], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------------------------------------
# The lean engine against HF generate and the reference engine


def hf_greedy(model, tok, prompts, n, eos_id):
    """HF model.generate, greedy, left-padded, pad and bos suppressed like the sampler: new tokens per row,
    up to and including eos."""
    tok.padding_side = "left"
    try:
        enc = tok(prompts, return_tensors="pt", padding=True)
    finally:
        tok.padding_side = "right"
    with torch.no_grad():
        seqs = model.generate(**enc, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id,
                              eos_token_id=eos_id, suppress_tokens=[tok.pad_token_id, tok.bos_token_id])
    new = seqs[:, enc["input_ids"].shape[1] :]
    return [row[row != tok.pad_token_id].tolist() for row in new]  # pad is never generated: it follows eos


def assert_same(a, b, atol=1e-5):
    """Two generate results agree: tokens, texts, finish reasons, order, and logprobs to atol."""
    assert [(o.prompt_index, o.sample_index) for o in a] == [(o.prompt_index, o.sample_index) for o in b]
    assert [o.token_ids for o in a] == [o.token_ids for o in b]
    assert [(o.text, o.finish_reason) for o in a] == [(o.text, o.finish_reason) for o in b]
    if a[0].logprobs is not None:
        assert max(float((x.logprobs - y.logprobs).abs().max()) for x, y in zip(a, b)) <= atol


def frequent_token(outs, rank=0):
    """A token that occurs in many of the outputs, at different steps (a custom eos that stops rows apart)."""
    counts = {}
    for o in outs:
        for t in set(o.token_ids):
            counts[t] = counts.get(t, 0) + 1
    return sorted(counts, key=lambda t: -counts[t])[rank]


def with_eos(tok, token_id):
    custom = copy.deepcopy(tok)
    custom.eos_token = tok.convert_ids_to_tokens(token_id)
    return custom


def test_lean_greedy_is_token_identical_to_hf_generate(model, tok):
    assert S.lean_supported(model)
    outs = S.generate(model, tok, PROMPTS, max_new_tokens=16, engine="lean")
    assert [o.token_ids for o in outs] == hf_greedy(model, tok, PROMPTS, 16, tok.eos_token_id)
    eos_id = frequent_token(outs)  # rows now stop at different steps, in HF generate as in ours
    custom = with_eos(tok, eos_id)
    stopped = S.generate(model, custom, PROMPTS, max_new_tokens=16, engine="lean")
    assert len({o.n_tokens for o in stopped}) > 1 and any(o.finish_reason == "eos" for o in stopped)
    assert [o.token_ids for o in stopped] == hf_greedy(model, custom, PROMPTS, 16, eos_id)


@pytest.mark.parametrize("kw", [dict(), dict(temperature=1.0, num_samples=3, seed=5),
                                dict(temperature=0.7, top_p=0.8, num_samples=2, seed=6)])
def test_lean_engine_equals_the_reference_engine(model, tok, kw):
    lean = S.generate(model, tok, PROMPTS, max_new_tokens=14, return_logprobs=True, engine="lean", **kw)
    reference = S.generate(model, tok, PROMPTS, max_new_tokens=14, return_logprobs=True, engine="reference", **kw)
    assert_same(lean, reference)
    assert S.generate(model, tok, PROMPTS, max_new_tokens=14, **kw)[0].token_ids == lean[0].token_ids  # auto: lean


@pytest.mark.parametrize("engine", ["lean", "reference"])
def test_samples_do_not_depend_on_batch_size(model, tok, engine):
    kw = dict(max_new_tokens=10, temperature=1.0, num_samples=3, seed=7, return_logprobs=True, engine=engine)
    assert_same(S.generate(model, tok, PROMPTS, batch_size=2, **kw),
                S.generate(model, tok, PROMPTS, batch_size=64, **kw))


@pytest.mark.parametrize("engine", ["lean", "reference"])
def test_shared_prefix_group_equals_separate_copies(model, tok, engine):
    kw = dict(max_new_tokens=12, temperature=1.0, seed=3, return_logprobs=True, engine=engine)
    group = S.generate(model, tok, PROMPTS, num_samples=4, **kw)
    copies = S.generate(model, tok, [p for p in PROMPTS for _ in range(4)], num_samples=1, **kw)
    assert [(o.token_ids, o.text, o.finish_reason) for o in group] == [(o.token_ids, o.text, o.finish_reason)
                                                                       for o in copies]
    assert [(o.prompt_index, o.sample_index) for o in group[:5]] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    assert len({tuple(o.token_ids) for o in group[:4]}) > 1  # the samples of one prompt still differ
    gap = max(float((a.logprobs - b.logprobs).abs().max()) for a, b in zip(group, copies))
    # lean: equal prompts are one prefill either way, so the numbers are the same; the reference engine
    # prefills every copy itself, which can differ in rounding
    assert gap == 0.0 if engine == "lean" else gap <= 1e-5


def test_rows_leave_the_batch_as_they_stop(model, tok):
    free = S.generate(model, tok, PROMPTS, max_new_tokens=16, temperature=1.0, num_samples=3, seed=2)
    custom = with_eos(tok, frequent_token(free))
    sizes = []  # rows in each forward of the lean engine: its embedding lookup sees every batch
    hook = model.model.embed_tokens.register_forward_hook(lambda mod, args, out: sizes.append(args[0].shape[0]))
    try:
        kw = dict(max_new_tokens=16, temperature=1.0, num_samples=3, seed=2, return_logprobs=True)
        lean = S.generate(model, custom, PROMPTS, engine="lean", **kw)
    finally:
        hook.remove()
    assert_same(lean, S.generate(model, custom, PROMPTS, engine="reference", **kw))
    lengths = [o.n_tokens for o in lean]
    assert len(set(lengths)) > 2 and any(o.finish_reason == "eos" for o in lean)
    decode = sizes[1:]  # sizes[0] is the prefill: each distinct prompt once
    assert sizes[0] == len(PROMPTS) and decode[0] == len(lean)
    assert decode == sorted(decode, reverse=True) and decode[-1] < decode[0]
    assert sum(decode) == sum(n - 1 for n in lengths)  # a row is fed back only while it runs


def test_stop_strings_are_found_as_decoding_every_step_finds_them(model, tok):
    free = S.generate(model, tok, PROMPTS, max_new_tokens=20, temperature=1.0, num_samples=2, seed=4)
    texts = "".join(o.text for o in free)
    pieces = [texts[i : i + k] for i, k in zip(range(3, len(texts) - 3, len(texts) // 8), [1, 2, 3] * 3)]
    kw = dict(max_new_tokens=20, temperature=1.0, num_samples=2, seed=4, return_logprobs=True)
    stopped = 0
    for stop in [[p] for p in pieces] + [pieces[:4], ["\n", "zz"]]:  # one to four characters; several at once
        lean = S.generate(model, tok, PROMPTS, stop=stop, engine="lean", **kw)
        assert_same(lean, S.generate(model, tok, PROMPTS, stop=stop, engine="reference", **kw))
        stopped += sum(o.finish_reason == "stop" for o in lean)
    assert stopped > len(pieces)  # rows stop at different steps, and the check has teeth


@pytest.mark.parametrize("kw", [dict(), dict(temperature=1.0, num_samples=2, seed=3)])
def test_prefix_cache_continues_stopped_rows_with_the_same_results(model, tok, kw):
    """The tool loop's pattern: rows stop at a stop string, the caller appends text after it and generates
    again. With a PrefixCache the lean engine serves the rows' keys and values instead of prefilling them,
    and gives what the reference engine (which ignores the cache) gives."""
    free = S.generate(model, tok, PROMPTS, max_new_tokens=16, **kw)
    stop = [tok.decode([frequent_token(free, rank)]) for rank in (0, 1)]

    def after_stop(o):  # what a tool round appends after the stop string it found
        found = tok.decode(o.token_ids)[len(o.text):]
        return next(s for s in stop if found.startswith(s)) + " 12 apples" if o.finish_reason == "stop" else ""

    cache, prompts, served, stopped = S.PrefixCache(), list(PROMPTS), [], []
    for _ in range(3):
        args = dict(max_new_tokens=12, stop=stop, return_logprobs=True, batch_size=3, **kw)
        lean = S.generate(model, tok, prompts, prefix_cache=cache, engine="lean", **args)
        assert_same(lean, S.generate(model, tok, prompts, engine="reference", **args))
        served.append((cache.hits, cache.reused_tokens))
        prompts = [prompts[o.prompt_index] + o.text + after_stop(o) for o in lean]
        kw = {k: v for k, v in kw.items() if k != "num_samples"}
        stopped.append(sum(o.finish_reason == "stop" for o in lean))
    assert stopped[0] >= 2 and stopped[1] >= 1  # rows to continue in both later rounds
    assert served[0] == (0, 0) and 0 < served[1][0] < served[2][0]
    assert served[2][1] > sum(len(tok(p)["input_ids"]) for p in PROMPTS)  # more than the first prompts' tokens


def test_prefix_cache_serves_the_shared_token_prefix_once():
    from dsmath_lib.sampling.prefix import CachedRow

    keys = torch.arange(10.0).view(2, 1, 5, 1)  # (layers, kv_heads, tokens, head_dim)
    cache = S.PrefixCache()
    cache.hold("job", CachedRow([1, 2, 3, 4, 5], keys, -keys))
    cache.file("job", "ab")
    assert cache.take("abX", [1, 2, 3, 9], stop=["Y"]) is None  # "ab" is not followed by a stop string
    k, v = cache.take("abYc", [1, 2, 3, 9, 9], stop=["Y"])  # three tokens shared, then the encodings part
    assert torch.equal(k, keys[..., :3, :]) and torch.equal(v, -keys[..., :3, :])
    assert cache.take("abYc", [1, 2, 3, 9, 9], stop=["Y"]) is None  # a row is served once
    cache.hold("job", CachedRow([1, 2, 3], keys[..., :3, :], keys[..., :3, :]))
    cache.file("job", "ab")
    assert cache.take("abY", [1, 2, 3], stop=["Y"])[0].shape[-2] == 2  # the last token is always computed
    small = S.PrefixCache(max_bytes=keys.nbytes)  # keys and values together do not fit
    small.hold("job", CachedRow([1, 2, 3, 4, 5], keys, keys))
    small.file("job", "ab")
    assert small.rows == {} and small.nbytes == 0


def test_stop_triggers_are_the_tokens_that_can_end_a_stop_string(tok):
    triggers = S.stop_triggers(tok, ["s.", "\n\n"], len(tok) + 2)
    texts = [tok.decode([i]) for i in range(len(tok))]
    for i, text in enumerate(texts):
        if "." in text or "\n" in text:
            assert triggers[i], text
    assert triggers[len(tok):].all()  # ids the tokenizer does not know: always checked
    assert not triggers[tok.convert_tokens_to_ids("Tom")]
    assert triggers.sum() < len(tok) // 2  # most tokens cannot end these stop strings: no decoding after them


def tiny_config(tok):
    return dict(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id)


def sharpened(model):
    """Larger weights, as for the Llama fixture, so greedy outputs vary."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(8)
    return model.eval()


def test_qwen2_with_grouped_query_attention_runs_lean(tok):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = sharpened(Qwen2ForCausalLM(Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                                       num_attention_heads=4, num_key_value_heads=2,
                                                       max_position_embeddings=128, **tiny_config(tok))))
    assert S.lean_supported(model)  # q/k/v biases and 2 query heads per key head
    outs = S.generate(model, tok, PROMPTS, max_new_tokens=12, engine="lean")
    assert [o.token_ids for o in outs] == hf_greedy(model, tok, PROMPTS, 12, tok.eos_token_id)
    kw = dict(max_new_tokens=12, temperature=1.0, num_samples=2, seed=1, return_logprobs=True)
    assert_same(S.generate(model, tok, PROMPTS, engine="lean", **kw),
                S.generate(model, tok, PROMPTS, engine="reference", **kw))


def test_other_architectures_fall_back_to_the_reference_engine(tok):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = sharpened(GPT2LMHeadModel(GPT2Config(n_positions=128, n_embd=32, n_layer=2, n_head=2,
                                                     **tiny_config(tok))))
    assert not S.lean_supported(model)
    with pytest.raises(ValueError, match="engine='lean'"):
        S.generate(model, tok, PROMPTS, max_new_tokens=4, engine="lean")
    outs = S.generate(model, tok, PROMPTS, max_new_tokens=10)
    assert [o.token_ids for o in outs] == hf_greedy(model, tok, PROMPTS, 10, tok.eos_token_id)
    sampled = S.generate(model, tok, PROMPTS, max_new_tokens=10, temperature=1.0, num_samples=2, seed=0)
    assert len(sampled) == 2 * len(PROMPTS) and all(o.n_tokens == 10 for o in sampled)


def test_a_hooked_model_gets_the_reference_engine(model, tok):
    hook = model.register_forward_hook(lambda *args: None)  # the lean loop never calls model.forward
    try:
        assert not S.lean_supported(model)
    finally:
        hook.remove()
    assert S.lean_supported(model)


class Adapter(torch.nn.Module):
    """A projection wrapped as LoRA wraps one: its output is not its base weight's product alone."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def forward(self, x):
        return self.base(x) + 1.0


def test_the_lean_engine_runs_an_adapter_wrapped_projection(model, tok):
    attn = model.model.layers[0].self_attn
    base = attn.q_proj
    attn.q_proj = Adapter(base)  # the lean engine calls the projection modules, so the adapter takes part
    try:
        assert S.lean_supported(model)
        wrapped = S.generate(model, tok, PROMPTS, max_new_tokens=8, engine="lean")
        assert [o.token_ids for o in wrapped] == hf_greedy(model, tok, PROMPTS, 8, tok.eos_token_id)
    finally:
        attn.q_proj = base
    assert [o.token_ids for o in wrapped] != [o.token_ids for o in S.generate(model, tok, PROMPTS, max_new_tokens=8)]
