"""Tests for dsmath_lib.train: LR schedule, packing, mixture, spec, and short real training runs of a smoke model
(pretraining, SFT with a loss mask, micro-batch invariance, a real interruption and its resume)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import dataclasses
import doctest
import importlib
import json

import numpy as np
import pytest
import torch

from dsmath_lib.chat import OUTPUT, OUTPUT_END
from dsmath_lib.config import ModelConfig, PretrainConfig, SFTConfig
from dsmath_lib.model import build_model, load_model, model_size, read_card, save_model
from dsmath_lib.tokenizer import train_tokenizer
from dsmath_lib.train import (Mixture, TrainResult, TrainSpec, apportion, launch_command, lr_scheduler, multistep_lr,
                              pack_documents, pack_sft, pretrain_spec, read_packed, sft_spec, sft_tokens, train,
                              write_packed)
from dsmath_lib.train import checkpoint as ckpt

CONTEXT = 64
PAPER = dict(warmup_steps=2000, decay_at=[0.8, 0.9], decay_to=[0.316, 0.1])


def texts(n=200):
    return [f"Tom has {i} apples and buys {i * 7 % 50} more. Now he has {i + i * 7 % 50} apples." for i in range(n)]


def sft_examples(n):
    """(prompt, response, masked spans): half plain CoT, half tool-integrated with a masked tool output."""
    out = []
    for i in range(n):
        a, b = i % 40, (i * 3) % 30
        prompt = f"<|user|>Tom has {a} apples and buys {b} more. How many now?<|assistant|>"
        if i % 2:
            tool = f"{OUTPUT}{a + b}{OUTPUT_END}"
            response = f"<|code|>print({a}+{b})<|/code|>{tool} He has {a + b}."
            start = response.index(tool)
            out.append((prompt, response, [(start, start + len(tool))]))
        else:
            out.append((prompt, f"{a} + {b} = {a + b}. He has {a + b}.", []))
    return out


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(texts() + [p + r for p, r, _ in sft_examples(60)], vocab_size=320)


@pytest.fixture(scope="module")
def world(tok, tmp_path_factory):
    """An init checkpoint, a packed pretraining set and a packed SFT set, built once for the module."""
    root = tmp_path_factory.mktemp("train")
    model = build_model(ModelConfig(size="smoke", context_length=CONTEXT), tok, seed=0)
    save_model(model, tok, root / "init", card={"stage": "init"})
    write_packed(root / "docs.npy", pack_documents((tok(t)["input_ids"] for t in texts()), CONTEXT,
                                                   tok.eos_token_id), source="test texts")
    ids, mask = pack_sft(tok, sft_examples(120), CONTEXT)
    write_packed(root / "sft.npy", ids, mask, source="test SFT")
    return root


def spec_for(world, out, **kw):
    base = dict(init=str(world / "init"), out=str(world / out), data=[str(world / "docs.npy")],
                tokens=8 * CONTEXT * 8, batch_size=8, micro_batch_size=4, lr=3e-3, warmup_steps=2,
                checkpoint_every=3)
    return TrainSpec(**{**base, **kw})


def weights_of(path):
    model, _ = load_model(path)
    return {k: v.clone() for k, v in model.state_dict().items()}


# --- pure parts ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["dsmath_lib.train.schedule", "dsmath_lib.train.packing", "dsmath_lib.train.mixture",
                                  "dsmath_lib.train.loop"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_multistep_lr_at_the_papers_points():
    total = 36_000
    lr = [multistep_lr(s, total, **PAPER) for s in (0, 999, 1999, 2000, 28_799, 28_800, 32_399, 32_400, 35_999)]
    assert lr == pytest.approx([1 / 2000, 0.5, 1, 1, 1, 0.316, 0.316, 0.1, 0.1])
    assert multistep_lr(7, 10, warmup_steps=0, decay_at=[], decay_to=[]) == 1.0  # SFT: constant
    assert multistep_lr(4, 10, warmup_steps=2000, decay_at=[], decay_to=[]) == 0.5  # warm-up clipped to 10 steps


def test_lr_scheduler_steps_through_multistep_lr():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
    sched = lr_scheduler(opt, 20, warmup_steps=4, decay_at=[0.5], decay_to=[0.25])
    seen = []
    for _ in range(20):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([0.2 * multistep_lr(s, 20, 4, [0.5], [0.25]) for s in range(20)])
    assert seen[3] == pytest.approx(0.2) and seen[10] == pytest.approx(0.05)


@pytest.mark.parametrize("bad", [dict(decay_at=[0.9, 0.8], decay_to=[0.3, 0.1]), dict(decay_at=[0.8], decay_to=[]),
                                 dict(decay_at=[1.5], decay_to=[0.1]), dict(warmup_steps=-1)])
def test_schedule_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="schedule"):
        multistep_lr(0, 10, **{**dict(warmup_steps=0, decay_at=[], decay_to=[]), **bad})


def test_pack_documents_joins_with_eos_and_drops_the_tail(tok):
    docs = [tok(t)["input_ids"] for t in texts(30)]
    rows = pack_documents(docs, 16, tok.eos_token_id)
    stream = np.concatenate([np.array(d + [tok.eos_token_id]) for d in docs])
    assert rows.shape == (len(stream) // 16, 16) and rows.dtype == np.int32
    assert np.array_equal(rows.reshape(-1), stream[: rows.size])
    assert (rows == tok.bos_token_id).sum() >= len(docs) - 2  # every document still starts with BOS
    assert pack_documents([], 16, 2).shape == (0, 16)
    with pytest.raises(ValueError, match="length"):
        pack_documents(docs, 1, 2)


def test_pack_sft_masks_exactly_the_response_and_never_splits_an_example(tok):
    examples = sft_examples(30)
    ids, mask = pack_sft(tok, examples, CONTEXT)
    assert ids.shape == mask.shape and ids.shape[1] == CONTEXT and mask.dtype == np.uint8
    assert not mask[ids == tok.pad_token_id].any()  # padding is never trained on
    # cut every row at its BOS tokens: the pieces are the examples, whole and in order
    pieces = []
    for row_ids, row_mask in zip(ids, mask):
        starts = list(np.flatnonzero(row_ids == tok.bos_token_id)) + [int((row_ids != tok.pad_token_id).sum())]
        pieces += [(row_ids[a:b].tolist(), row_mask[a:b].tolist()) for a, b in zip(starts, starts[1:])]
    expected = list(sft_tokens(tok, examples))
    assert pieces == expected
    for (prompt, response, spans), (piece_ids, piece_mask) in zip(examples, pieces):
        trained = [t for t, m in zip(piece_ids, piece_mask) if m]
        masked_text = "".join(response[a:b] for a, b in spans)
        kept = response
        for a, b in spans:
            kept = kept.replace(response[a:b], "")
        assert tok.decode(trained) == kept + tok.eos_token  # response tokens + EOS, nothing of the prompt
        n_prompt = len(tok(prompt)["input_ids"])
        assert not any(piece_mask[:n_prompt])
        if spans:  # the tool output is in the row but not trained on
            assert masked_text in tok.decode(piece_ids) and masked_text not in tok.decode(trained)


def test_pack_sft_truncates_long_examples_and_counts_them(tok):
    long = ("<|user|>Q?<|assistant|>", " ".join(["apples"] * 80), [])
    with pytest.warns(UserWarning, match="1 of 3 examples"):
        ids, mask = pack_sft(tok, [sft_examples(1)[0], long, sft_examples(1)[0]], CONTEXT)
    assert ids.shape == (3, CONTEXT) and (ids[1] != tok.pad_token_id).all()


def test_write_read_packed_round_trip(tmp_path):
    ids = np.arange(24, dtype=np.int64).reshape(4, 6)
    mask = (ids % 2).astype(np.uint8)
    path = write_packed(tmp_path / "sub" / "set", ids, mask, source="unit")
    data = read_packed(path)
    assert isinstance(data.ids, np.memmap) and np.array_equal(data.ids, ids) and np.array_equal(data.loss_mask, mask)
    assert (data.rows, data.length, data.tokens, data.loss_tokens, data.source) == (4, 6, 24, 12, "unit")
    write_packed(path, ids)  # rewritten without a mask: the stale mask goes
    again = read_packed(tmp_path / "sub" / "set")
    assert again.loss_mask is None and again.loss_tokens == 24
    assert not (tmp_path / "sub" / "set.mask.npy").exists() and not list((tmp_path / "sub").glob(".*tmp*"))


def test_read_packed_errors_name_the_file(tmp_path):
    path = write_packed(tmp_path / "d.npy", np.ones((3, 5)), np.ones((3, 5)))
    meta = tmp_path / "d.json"
    meta.write_text("{not json")
    with pytest.raises(ValueError, match="d.json.*malformed"):
        read_packed(path)
    meta.write_text(json.dumps({"length": 5, "rows": 4, "has_mask": True}))
    with pytest.raises(ValueError, match=r"d\.npy: shape \(3, 5\)"):
        read_packed(path)
    meta.write_text(json.dumps({"length": 5, "rows": 3, "has_mask": True}))
    (tmp_path / "d.mask.npy").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="d.mask.npy: not a readable"):
        read_packed(path)
    (tmp_path / "d.mask.npy").unlink()
    with pytest.raises(FileNotFoundError, match="d.mask.npy"):
        read_packed(path)
    meta.unlink()
    with pytest.raises(FileNotFoundError, match="d.json"):
        read_packed(path)
    with pytest.raises(ValueError, match="loss_mask shape"):
        write_packed(tmp_path / "e", np.ones((3, 5)), np.ones((3, 4)))


def test_mixture_shares_epochs_and_determinism():
    mix = Mixture(sizes=[5, 1000], weights=[0.25, 0.75], batch_size=8, steps=10, seed=3)
    batches = [mix.batch(s) for s in range(10)]
    source = np.concatenate([b[0] for b in batches])
    rows = np.concatenate([b[1] for b in batches])
    assert np.bincount(source).tolist() == [20, 60]  # exact shares over the run
    small = rows[source == 0]  # 20 draws of a 5-row source: 4 epochs, each a permutation, not all the same
    epochs = [tuple(small[i:i + 5]) for i in range(0, 20, 5)]
    assert all(sorted(e) == list(range(5)) for e in epochs) and len(set(epochs)) > 1
    big = rows[source == 1]
    assert len(set(big.tolist())) == 60  # a long source never repeats within its first epoch
    again = Mixture(sizes=[5, 1000], weights=[0.25, 0.75], batch_size=8, steps=10, seed=3)
    assert all(np.array_equal(a, b) for s in (7, 2) for a, b in zip(again.batch(s), mix.batch(s)))
    other = Mixture(sizes=[5, 1000], weights=[0.25, 0.75], batch_size=8, steps=10, seed=4)
    assert not np.array_equal(other.batch(0)[1], mix.batch(0)[1])
    assert apportion(5, [0, 1]).tolist() == [0, 5]
    with pytest.raises(ValueError, match="weights"):
        apportion(5, [0, 0])


def test_spec_json_digest_and_builders(tmp_path):
    spec = TrainSpec(init="i", out="o", data=["d.npy"], tokens=100, lr=1e-3)
    path = spec.to_json(tmp_path / "spec.json")
    assert TrainSpec.from_json(path) == spec
    assert dataclasses.replace(spec, out="elsewhere", checkpoint_every=7).digest() == spec.digest()
    assert dataclasses.replace(spec, seed=1).digest() != spec.digest()
    path.write_text(json.dumps({**dataclasses.asdict(spec), "lrr": 1}))
    with pytest.raises(ValueError, match="spec.json.*'lrr'"):
        TrainSpec.from_json(path)
    with pytest.raises(ValueError, match="lr must be > 0"):
        dataclasses.replace(spec, lr=0.0).validate()
    with pytest.raises(ValueError, match="weights"):
        dataclasses.replace(spec, weights=[1, 2]).validate()
    pre = pretrain_spec(PretrainConfig(), ModelConfig(size="tiny-s"), init="i", out="o", data=["d"], tokens=10)
    assert pre.lr == model_size("tiny-s").lr and pre.decay_at == [0.8, 0.9] and pre.curve_points == 5
    sft = sft_spec(SFTConfig(steps=5, batch_size=4), init="i", out="o", data=["d"], length=64)
    assert (sft.tokens, sft.decay_at, sft.warmup_steps, sft.lr) == (5 * 4 * 64, [], 0, 5e-5)
    decayed = sft_spec(SFTConfig(steps=5, decay_at=[0.8], decay_to=[0.1]), init="i", out="o", data=["d"], length=64)
    assert (decayed.decay_at, decayed.decay_to) == ([0.8], [0.1])


def test_launch_command_forms(tmp_path):
    cfg = tmp_path / "ddp.yaml"
    cfg.write_text("distributed_type: MULTI_GPU\n")
    cmd = launch_command("o/spec.json", str(cfg), fresh=True)
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"] and cmd[3:5] == ["--config_file", str(cfg)]
    assert cmd[-4:] == ["-m", "dsmath_lib.train", "o/spec.json", "--fresh"]
    local = launch_command("o/spec.json", num_processes=2, progress=False)
    assert local[local.index("--num_processes") + 1] == "2" and "--multi_gpu" in local and local[-1] == "--no-progress"
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        launch_command("o/spec.json", str(tmp_path / "missing.yaml"))


def test_global_batch_mixes_sources_with_and_without_masks(world, tok):
    from dsmath_lib.train.loop import global_batch, load_sources

    sources, length = load_sources([str(world / "docs.npy"), str(world / "sft.npy")])
    mix = Mixture([s.rows for s in sources], [0.5, 0.5], batch_size=8, steps=2, seed=0)
    ids, mask = global_batch(sources, mix, 1)
    source, rows = mix.batch(1)
    assert ids.shape == mask.shape == (8, length) and set(source.tolist()) == {0, 1}
    for i, (src, row) in enumerate(zip(source, rows)):
        assert np.array_equal(ids[i], sources[src].ids[row])
        expected = np.ones(length) if src == 0 else sources[1].loss_mask[row]  # pretraining rows: every token
        assert np.array_equal(mask[i], expected)
    write_packed(world / "short.npy", np.ones((4, 32)))
    with pytest.raises(ValueError, match="one row length.*short.npy: 32"):
        load_sources([str(world / "docs.npy"), str(world / "short.npy")])


def test_adamw_decays_matrices_not_norms(world):
    from dsmath_lib.train.loop import adamw

    model, _ = load_model(world / "init")
    decay, no_decay = adamw(model, TrainSpec(init="", out="", data=["d"], tokens=1, lr=1e-3)).param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.dim() == 2 for p in decay["params"]) and any("embed" in names[id(p)] for p in decay["params"])
    assert no_decay["params"] and all("norm" in names[id(p)] for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


# --- real training runs -------------------------------------------------------------------------------------

class Recorder:
    """A tracker that records what the loop logs and, optionally, interrupts it like a crash at a step."""

    def __init__(self, crash_at=None):
        self.logged, self.crash_at = [], crash_at

    def log(self, metrics, step=None):
        if step == self.crash_at:
            raise KeyboardInterrupt(f"simulated interruption at step {step}")
        self.logged.append((step, metrics))


def test_pretraining_run_learns_writes_card_and_curve(world):
    spec = spec_for(world, "pre", curve_points=2, card={"name": "unit", "stage": "base"})
    tracker = Recorder()
    result = train(spec, tracker=tracker, progress=False)
    losses = [h["loss"] for h in result.history]
    assert result.steps == 8 and result.tokens == 8 * 8 * CONTEXT and len(losses) == 8
    assert losses[-1] < losses[0] - 0.5  # it learned the texts
    init, final = weights_of(world / "init"), weights_of(result.checkpoint)
    assert all(not torch.equal(init[k], final[k]) for k in init)  # every parameter moved (norms included)
    card = read_card(result.checkpoint)
    assert card["name"] == "unit" and card["steps"] == 8 and card["spec_digest"] == spec.digest()
    assert card["final_loss"] == pytest.approx(losses[-1]) and card["tokens_per_s"] > 0
    assert [read_card(p)["tokens"] for p in result.curve] == [4 * 8 * CONTEXT, 8 * 8 * CONTEXT]
    assert [s for s, _ in tracker.logged] == list(range(1, 9)) and "train/loss" in tracker.logged[0][1]
    lrs = [h["lr"] for h in result.history]
    assert lrs == pytest.approx([1.5e-3] + [3e-3] * 6 + [0.316 * 3e-3])  # warm-up 2, decay at 80% of 8 steps
    # finished: returns at once; another spec in the same folder is an error unless fresh
    assert train(spec, progress=False) == TrainResult.from_json(world / "pre" / "result.json")
    with pytest.raises(ValueError, match="pre/final holds a run of another spec"):
        train(dataclasses.replace(spec, seed=1), progress=False)


def test_sft_trains_on_response_tokens_only_and_is_micro_batch_invariant(world):
    sft = dict(data=[str(world / "sft.npy")], tokens=8 * CONTEXT * 3, warmup_steps=0, decay_at=[], decay_to=[],
               weight_decay=0.0)
    coarse = train(spec_for(world, "sft8", micro_batch_size=8, **sft), progress=False)
    fine = train(spec_for(world, "sft2", micro_batch_size=2, **sft), progress=False)
    assert coarse.history[-1]["loss"] < coarse.history[0]["loss"]
    assert {h["lr"] for h in coarse.history} == {3e-3}  # constant
    # the loss is normalised by the global batch's response tokens: 1 or 4 micro-batches, the same update up
    # to float32 summation order (measured: 4e-6 on the weights; a per-micro-batch mean gives 1.4e-2)
    a, b = weights_of(coarse.checkpoint), weights_of(fine.checkpoint)
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4
    assert [h["loss"] for h in fine.history] == pytest.approx([h["loss"] for h in coarse.history], abs=1e-5)


def test_token_loss_sum_counts_only_masked_targets(world):
    from dsmath_lib.train.loop import token_loss_sum

    data = read_packed(world / "sft.npy")
    model, _ = load_model(world / "init")
    ids = torch.from_numpy(data.ids[:4].astype(np.int64))
    mask = torch.from_numpy(data.loss_mask[:4].astype(np.float32))
    with torch.no_grad():
        logits = model(input_ids=ids).logits
        ce = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                                               reduction="none").reshape(4, -1)
        assert token_loss_sum(model, ids, mask).item() == pytest.approx((ce * mask[:, 1:]).sum().item(), rel=1e-5)
        assert 0 < mask[:, 1:].sum() < mask[:, 1:].numel()  # some targets trained, prompts and outputs not
        assert token_loss_sum(model, ids, torch.ones_like(mask)).item() > token_loss_sum(model, ids, mask).item()


def test_interrupted_run_resumes_to_the_same_weights(world):
    straight = train(spec_for(world, "straight", checkpoint_every=2), progress=False)
    spec = spec_for(world, "broken", checkpoint_every=2)
    with pytest.raises(KeyboardInterrupt):
        train(spec, tracker=Recorder(crash_at=5), progress=False)  # dies after step 5, last checkpoint at 4
    progress = json.loads((ckpt.resume_dir(spec.out) / "progress.json").read_text())
    assert progress["step"] == 4 and not (world / "broken" / "final").exists()
    with pytest.raises(ValueError, match="broken/resume holds a run of another spec"):
        train(dataclasses.replace(spec, lr=1e-3), progress=False)
    resumed = train(spec, progress=False)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in straight.history]
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in straight.history]
    a, b = weights_of(straight.checkpoint), weights_of(resumed.checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)  # bitwise on CPU: same batches, same optimizer state
    # fresh=True discards the finished run of another spec and trains the new one
    short = dataclasses.replace(spec, tokens=2 * 8 * CONTEXT)
    assert train(short, fresh=True, progress=False).steps == 2
    assert read_card(world / "broken" / "final")["spec_digest"] == short.digest()
