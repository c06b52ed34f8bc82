"""The dry run (dsmath_lib.plan): its figures against a hand computation, and every scale's plan prints."""

import doctest

import pytest

from dsmath_lib import plan as P
from dsmath_lib.config import load_params, params_path


def decoder_parameters(vocab, d, layers, inter, heads, kv_heads, tied, qkv_bias):
    """Llama / Qwen2 parameters by hand: embeddings (and an untied head), attention, SwiGLU MLP, RMSNorms."""
    head = d // heads
    attention = d * heads * head + 2 * d * kv_heads * head + heads * head * d
    attention += (heads + 2 * kv_heads) * head if qkv_bias else 0
    return vocab * d * (1 if tied else 2) + layers * (attention + 3 * d * inter + 2 * d) + d


@pytest.fixture(scope="module")
def paper():
    return P.plan(load_params(params_path("paper")))


def test_parameter_counts_match_the_hand_count(paper):
    assert paper.n == decoder_parameters(102400, 4096, 30, 11008, 32, 32, tied=False, qkv_bias=False) == 6_910_365_696
    gpu = P.plan(load_params(params_path("gpu")))
    assert gpu.n == decoder_parameters(151936, 896, 24, 4864, 14, 2, tied=True, qkv_bias=True) == 494_032_768


def test_paper_sft_stage_by_hand(paper):
    n = 6_910_365_696
    (sft,) = [s for s in paper.stages if s.notebook == "04_sft" and s.name.startswith("SFT")]
    tokens = 500 * 256 * 4096  # paper §3: 500 steps of 256 sequences of 4K
    assert sft.tokens == tokens and sft.flops == 6 * n * tokens
    assert P.gpu_hours(sft.flops, "h100-sxm", 0.4) == pytest.approx(6 * n * tokens / (0.4 * 989e12) / 3600)
    assert P.gpu_hours(sft.flops, "h100-sxm", 0.4) == pytest.approx(15.26, abs=0.01)
    # DeepSpeed ZeRO-2 on 8 GPUs: bf16 weights on every GPU, gradients and fp32 optimizer state split 8 ways
    assert paper.layout.gpus == 8 and paper.layout.sharded == "grads+optimizer"
    assert sft.memory == {"model (trained)": pytest.approx(2 * n + 14 * n / 8)}
    assert "accelerate launch --config_file params/accelerate/deepspeed.yaml -m dsmath_lib.train" in sft.launch


def test_gpu_grpo_rollouts_and_memory_by_hand():
    p = P.plan(load_params(params_path("gpu")))
    n = p.n
    rollouts, update = [s for s in p.stages if s.notebook == "05_grpo"][:2]
    tokens = 200 * 16 * 16 * 1024  # gpu.yaml: 200 steps x 16 questions x G 16 x 1024 new tokens
    assert rollouts.tokens == tokens and rollouts.flops == 2 * n * tokens
    assert update.flops == (6 + 2) * n * tokens  # mu = 1: the policy's 6N, the reference's forward 2N
    assert rollouts.memory == {"policy (trained)": 16 * n, "reference (frozen)": 2 * n, "vLLM copy of the policy": 2 * n}



def test_gpu_rl_ablation_stages_by_hand():
    p = P.plan(load_params(params_path("gpu")))
    n, stages = p.n, [s for s in p.stages if s.notebook == "06_rl_ablations"]
    tokens = 100 * 16 * 16 * 1024  # gpu.yaml rl_ablation: 100 steps x 16 questions x G 16 x 1024 new tokens
    ppo = next(s for s in stages if s.name.startswith("PPO"))
    assert ppo.tokens == tokens and ppo.flops == (2 + 6 + 2 + 6 + 2) * n * tokens  # rollouts, update, ref, value
    assert ppo.memory == {"policy (trained)": 16 * n, "reference (frozen)": 2 * n, "value model (trained)": 16 * n}
    rounds = [s for s in stages if s.name.startswith("GRPO+PS")]
    assert len(rounds) == 2 and rounds[0].memory["PRM (frozen)"] == 2 * n
    assert any(s.name.startswith("GRPO+OS") for s in stages)  # 100 steps, not 05's 200: a run of its own
    labels = next(s for s in stages if s.name.startswith("Math-Shepherd"))
    assert labels.tokens == 3 * 256 * 4 * (1 + 3 * 8) * 1024  # 3 rounds x 1024 solutions x (1 + 3 steps x 8) x 1024


def test_ablation_stages_shared_between_02_and_03_count_once(paper):
    trained = [s for s in paper.stages if s.notebook in ("02_corpus_ablations", "03_code_vs_math") and s.launch
               and not s.name.startswith("evaluation")]
    reused = [s for s in paper.stages if s.name.endswith("(trained already, reused)")]
    assert [s.name.split(":")[0] for s in reused] == ["general, then math, seed 0", "math only, seed 0"]
    assert sum(s.tokens for s in trained) == 4 * 150e9 + 400e9 + 150e9 + 400e9 + 150e9 + 550e9 + 150e9


@pytest.mark.parametrize("scale", ["smoke", "tiny", "gpu", "paper"])
def test_every_scale_prints_a_plan(scale, capsys):
    assert P.main(["--scale", scale]) == 0
    out = capsys.readouterr().out
    for notebook in ("00_world", "01_corpus_mining", "02_corpus_ablations", "03_code_vs_math", "04_sft", "05_grpo",
                     "06_rl_ablations", "07_evaluation"):
        assert f"== {notebook}" in out
    assert "total (00-07):" in out
    if scale == "paper":  # the paper's own figures stand beside ours
        assert "500B tokens" in out and "G = 64" in out and "batch 1024" in out and "does not fit" in out


def test_docstring_examples():
    result = doctest.testmod(P)
    assert result.attempted > 0 and result.failed == 0
