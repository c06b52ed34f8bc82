"""A pretrained model (`model.pretrained`) is the init of 02-03: notebook 00 saves it as checkpoints/init and
pretraining.init_checkpoint starts every seed's runs from it. The "pretrained" model is a tiny Llama this test
writes with save_pretrained, loaded by path through the code that loads a hub name."""

import json

import pytest
import torch

from dsmath_lib import pretraining
from dsmath_lib.config import PretrainConfig, load_params, params_path
from dsmath_lib.model import build_model, load_model, read_card, save_model
from dsmath_lib.tokenizer import load_tokenizer, train_tokenizer

TEXTS = [f"Example. {i} + {i} = {2 * i}. Therefore the answer is {2 * i}." for i in range(60)]


@pytest.fixture
def pretrained_study(tmp_path):
    """(params with model.pretrained = a save_pretrained folder, artifacts after notebook 00's init step)."""
    tok = train_tokenizer(TEXTS, vocab_size=300)
    params = load_params(params_path("smoke"))
    params.model.context_length = 64
    hub_like = tmp_path / "hub" / "tiny-llama"
    base = build_model(params.model, tok, seed=7)
    base.save_pretrained(hub_like)  # a plain pretrained-format folder: no dsmath card
    tok.save_pretrained(hub_like)
    params.model.pretrained = str(hub_like)
    params.pretrain = PretrainConfig(math_tokens=256, batch_size=4, micro_batch_size=2, lr=1e-3, warmup_steps=1,
                                     checkpoint_every=2, eval_points=0, seeds=[0, 1])
    # notebook 00, sections 5-6 at a pretrained scale: its tokenizer, the loaded model saved as checkpoints/init
    artifacts = tmp_path / "artifacts"
    tokenizer = load_tokenizer(params.model.pretrained)
    model = build_model(params.model, tokenizer, seed=params.seed)
    save_model(model, tokenizer, artifacts / "checkpoints" / "init",
               card={"name": "init", "notebook": "00_world", "stage": "init",
                     "description": f"pretrained {params.model.pretrained}", "pretrained": params.model.pretrained})
    return params, artifacts, base


def test_every_seed_starts_from_the_pretrained_weights(pretrained_study):
    params, artifacts, base = pretrained_study
    init = artifacts / "checkpoints" / "init"
    assert pretraining.init_checkpoint(params, 0, artifacts) == init
    assert pretraining.init_checkpoint(params, 1, artifacts) == init  # no untrained model of seed 1
    assert not (artifacts / "runs" / "init-seed1").exists()
    loaded, _ = load_model(init)
    expected = base.state_dict()
    assert all(torch.equal(value, expected[name]) for name, value in loaded.state_dict().items())


def test_a_stage_of_02_trains_from_it(pretrained_study):
    params, artifacts, _ = pretrained_study
    corpus = artifacts.parent / "final.jsonl"
    corpus.write_text("".join(json.dumps({"url": f"u/{i}", "text": t, "n_tokens": 9}) + "\n"
                                  for i, t in enumerate(TEXTS)))
    packed = pretraining.pack_corpora({"final": corpus}, load_tokenizer(artifacts / "checkpoints" / "init"), 64,
                                   artifacts / "packed")
    arm = pretraining.Arm("math", (pretraining.Stage((("final", 256),)),), seeds=(0, 1))
    runs = pretraining.run_arms([arm], packed, params, artifacts)
    for seed in (0, 1):
        (final,) = runs[("math", seed)]
        spec = json.loads((final.parent / "spec.json").read_text())
        assert spec["init"] == str(artifacts / "checkpoints" / "init")
        assert read_card(final)["stage"] == "base"


def test_a_changed_pretrained_model_is_caught(pretrained_study):
    params, artifacts, _ = pretrained_study
    params.model.pretrained = "some-org/another-model"
    with pytest.raises(ValueError, match="another-model.*rerun notebook 00_world"):
        pretraining.init_checkpoint(params, 0, artifacts)
    params.model.pretrained = ""  # a from-scratch scale over a pretrained init: caught too
    with pytest.raises(ValueError, match="tiny-llama"):
        pretraining.init_checkpoint(params, 0, artifacts)
