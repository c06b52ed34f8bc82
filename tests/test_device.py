"""Tests for where models compute: model.compute_device is accelerate's device; the factories (build_model,
load_model, eval's load_checkpoint, build_prm, load_prm) put models on it in the dtype asked for; the RL trainers
and the evaluation NLL feed every model forward tensors on that model's device and in its dtype.

What a CPU run can prove: placement, because compute_device is patched to return the `meta` device (a real
device type with no data) and the models must land there; the micro-batches go to the device they are given;
and, with a float64 policy, that no float tensor the trainers feed a model is hard-coded to float32. What it
cannot: that the trainers' forwards see cuda tensors, since policy and batches share the CPU here; the same
hook test checks that for real when a GPU is present (the models are built on compute_device())."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import copy

import pytest
import torch
from accelerate import PartialState

from dsmath_lib import model as M
from dsmath_lib.config import GRPOConfig, ModelConfig, RLAblationConfig, WorldConfig
from dsmath_lib.eval.checkpoints import load_checkpoint
from dsmath_lib.eval.nll import solution_nll
from dsmath_lib.rl import prm as PRM
from dsmath_lib.rl import trainer as T
from dsmath_lib.rl.methods import train_method
from dsmath_lib.rl.rollout import Rollout
from dsmath_lib.synth import generate_world
from dsmath_lib.tokenizer import train_tokenizer

META = torch.device("meta")  # stands in for an accelerator: placement is visible, nothing is computed there
CFG = GRPOConfig(steps=1, questions_per_step=2, group_size=2, lr=1e-3, micro_batch_size=3, max_new_tokens=8,
                 eval_every=10, rollout_batch_size=8)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(n_train=20, n_test=2))


@pytest.fixture(scope="module")
def tok(world):
    return train_tokenizer([p.question + "\n" + p.solution for p in world.train], vocab_size=350)


@pytest.fixture(scope="module")
def saved(tok, tmp_path_factory):
    model = M.build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0)
    return M.save_model(model, tok, tmp_path_factory.mktemp("device") / "smoke")


@pytest.fixture
def on_meta(monkeypatch):
    """compute_device() answers `meta` for model and rl.prm (which imports it by name)."""
    monkeypatch.setattr(M, "compute_device", lambda: META)
    monkeypatch.setattr(PRM, "compute_device", lambda: META)


def test_compute_device_is_accelerates(monkeypatch):
    assert M.compute_device() == PartialState().device  # cuda when present, else cpu

    class Fake:  # accelerate's answer, whatever it is, is the one used
        def __init__(self, cpu=False):
            self.device = torch.device("cpu") if cpu else META

    monkeypatch.setattr(M, "PartialState", Fake)
    assert M.compute_device() == META
    monkeypatch.setenv("ACCELERATE_USE_CPU", "true")  # forces the CPU, as for accelerate's Accelerator
    assert M.compute_device() == torch.device("cpu")


def test_load_model_gives_the_dtype_on_the_compute_device(saved):
    model, _ = M.load_model(saved, dtype="bfloat16")
    p = next(model.parameters())
    assert p.dtype == torch.bfloat16 and p.device.type == M.compute_device().type
    assert next(M.load_model(saved)[0].parameters()).dtype == torch.float32  # the default is unchanged


@pytest.fixture(scope="module")
def saved_prm(saved, tok):
    return PRM.save_prm(PRM.build_prm(M.load_model(saved)[0]), tok, saved.parent / "prm")


def test_every_factory_places_its_model_on_the_compute_device(saved, saved_prm, tok, on_meta):
    built = M.build_model(ModelConfig(size="smoke", dtype="bfloat16"), tok)
    loaded, _ = M.load_model(saved, dtype="bfloat16")
    evaluated, _ = load_checkpoint(saved, dtype="bfloat16")
    from_hub_name = M.build_model(ModelConfig(pretrained=str(saved), dtype="bfloat16"), tok)
    for model in (built, loaded, evaluated, from_hub_name):
        p = next(model.parameters())
        assert (p.device, p.dtype) == (META, torch.bfloat16)
    prm = PRM.build_prm(saved)  # from a folder: compute_device(); trained, so float32
    for model in (prm, PRM.load_prm(saved_prm)[0], PRM.build_prm(loaded)):  # in memory: the source's device
        assert next(model.parameters()).device == META


def test_micro_batches_go_to_the_device_they_are_given():
    batch = Rollout([None] * 3, [[1, 5], [1, 5], [1]], [[7], [8, 9], [4]], ["a", "b", "c"], 1)
    micro = T._micro_batches(batch, torch.tensor([1.0, -1.0, 0.0]), 2, 0, META)
    assert len(micro) == 2 and {t.device for mb in micro for t in mb.values()} == {META}


def guard(model, seen: list) -> None:
    """Check every forward call: its tensor arguments on the model's parameters' device, floats in their dtype.
    `forward` itself is wrapped, not hooked: a hooked model sends the sampler to its reference engine."""
    p, forward = next(model.parameters()), model.forward

    def checked(*args, **kwargs):
        tensors = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor)]
        assert tensors and all(t.device == p.device for t in tensors), [t.device for t in tensors]
        assert all(t.dtype == p.dtype for t in tensors if t.is_floating_point()), [t.dtype for t in tensors]
        seen.append(model)
        return forward(*args, **kwargs)

    model.forward = checked


def reward(texts, problems):
    return [float(len(t) % 2) for t in texts]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # float64: no float32 hard-coded on the way
@pytest.mark.parametrize("method", ["GRPO+OS", "DPO", "PPO"])
def test_trainers_feed_models_on_their_device_and_dtype(method, dtype, world, tok, tmp_path):
    policy = M.build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0).to(dtype)
    sft, seen = copy.deepcopy(policy), []
    guard(policy, seen), guard(sft, seen)
    result = train_method(method, policy, sft, tok, world.train, CFG, RLAblationConfig(steps=1), tmp_path,
                          progress=False, reward_fn=reward)
    assert {id(policy), id(sft)} <= {id(m) for m in seen} and len(result.history) == 1  # both models were run
    assert next(policy.parameters()).dtype == dtype  # the update kept the policy's dtype


def test_nll_feeds_the_model_on_its_device_and_dtype(world, tok):
    model, seen = M.build_model(ModelConfig(size="smoke", context_length=256), tok).double(), []
    guard(model, seen)
    nll = solution_nll(model, tok, world.test["synth-gsm"][:2], world.train[:1])
    assert seen and len(nll) == 2 and all(x > 0 for x in nll)
