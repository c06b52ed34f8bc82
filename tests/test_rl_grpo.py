"""Tests for dsmath_lib.rl.grpo: advantages, the k3 KL, and the loss and gradient of the GRPO / Dr. GRPO / DAPO
presets (and single fields changed alone) checked against trl 1.16's own GRPOTrainer code on fixed
log-probabilities, rewards and masks; each variant field alone changes its one term."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import doctest
import types

import pytest
import torch

from dsmath_lib.config import GRPO_PRESETS, ModelConfig
from dsmath_lib.model import build_model, save_model
from dsmath_lib.rl import grpo as R
from dsmath_lib.tokenizer import train_tokenizer

B, G, T = 3, 4, 6
LENGTHS = [6, 3, 5, 1, 6, 2, 4, 6, 2, 6, 5, 3]  # unequal |o_i|, so 1/|o_i| and the normalisers matter
REWARDS = torch.tensor([[1.0, 0.0, 0.0, 1.0],  # a mixed group
                        [1.0, 1.0, 1.0, 1.0],  # all equal: advantages 0
                        [0.0, 1.0, 0.5, 0.0]])  # (B, G)


def fixed_logps():
    """(current, old, ref) per-token log-probs (N, T); old != current so the clip engages on both sides."""
    g = torch.Generator().manual_seed(0)
    cur = -torch.rand(B * G, T, generator=g) * 3
    return cur, cur + 0.5 * torch.randn(B * G, T, generator=g), cur + 0.3 * torch.randn(B * G, T, generator=g)


def mask():
    return torch.tensor([[1.0 if t < n else 0.0 for t in range(T)] for n in LENGTHS])  # (N, T)


# ------------------------------------------------------------------------------------------------ trl


@pytest.fixture(scope="module")
def trl_model_path(tmp_path_factory):
    tok = train_tokenizer([f"Tom has {i} apples" for i in range(200)], vocab_size=300)
    model = build_model(ModelConfig(size="smoke", context_length=64), tok)
    return save_model(model, tok, tmp_path_factory.mktemp("trl") / "model"), tok


def trl_loss_and_grad(path, tok, tmp_path, loss_type, scale_rewards, epsilon_high, max_completion_length):
    """trl's advantages, loss, gradient w.r.t. the current log-probs and metrics, through its real methods;
    only generation (fixed completions) and the model forward (fixed per-token log-probs) are replaced."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to=[], save_strategy="no", beta=0.04,
                      num_generations=G, per_device_train_batch_size=B * G, loss_type=loss_type,
                      scale_rewards=scale_rewards, epsilon=0.2, epsilon_high=epsilon_high,
                      max_completion_length=max_completion_length,
                      num_iterations=2,  # so trl takes pi_old from a forward instead of reusing pi_theta
                      use_bias_correction_kl=False)  # trl's default multiplies the KL by the ratio (DeepSeek-V3.2);
    # DeepSeekMath's k3 has no such factor
    prompts = ["Tom has", "apples", "Tom has 3"]
    trainer = GRPOTrainer(model=str(path), reward_funcs=lambda prompts, completions, fixed, **kw: list(fixed),
                          args=args, train_dataset=Dataset.from_dict({"prompt": prompts, "fixed": [0.0] * B}),
                          processing_class=tok)
    cur, old, ref = fixed_logps()
    leaf = cur.clone().requires_grad_(True)
    completions = [[5 + (i + t) % 7 for t in range(n)] for i, n in enumerate(LENGTHS)]

    def generate(self, prompt_ids, images, multimodal_fields, num_generations, *args, **kwargs):
        return [list(c) for c in completions], None

    def logps(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None, compute_entropy=False, **kw):
        assert logits_to_keep == T
        if model is self.ref_model:
            return ref.clone(), None, None
        if compute_entropy:  # the forward inside _compute_loss: pi_theta, with grad
            return leaf, torch.zeros(B * G, T), None
        return old.clone(), None, None  # pi_old, before the update

    trainer._generate_single_turn = types.MethodType(generate, trainer)
    trainer._get_per_token_logps_and_entropies = types.MethodType(logps, trainer)
    trainer.current_gradient_accumulation_steps = 1  # what Trainer's loop sets before a step
    trainer.model.train()
    inputs = [{"prompt": prompts[i], "fixed": float(REWARDS[i, j])} for i in range(B) for j in range(G)]
    batch = trainer._generate_and_score_completions(inputs)
    assert torch.equal(batch["completion_mask"].float(), mask())
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items()}
    return batch["advantages"], loss.detach(), leaf.grad, metrics


CASES = {  # our fields (a preset's, or one changed alone): trl's loss_type, scale_rewards, epsilon_high, max length
    "grpo": (GRPO_PRESETS["grpo"], ("grpo", "group", None, T)),
    "dr_grpo": (GRPO_PRESETS["dr_grpo"], ("dr_grpo", "none", None, 8)),  # 8 > T: the constant is the max length,
    # not the batch's width
    "dapo": (GRPO_PRESETS["dapo"], ("dapo", "group", 0.28, T)),  # dynamic sampling is the trainer's, not the loss's
    "grpo+clip_eps_high": ({**GRPO_PRESETS["grpo"], "clip_eps_high": 0.28}, ("grpo", "group", 0.28, T)),
    "grpo+unscaled": ({**GRPO_PRESETS["grpo"], "scale_rewards": False}, ("grpo", "none", None, T)),
}


def test_every_preset_is_checked_against_trl():
    assert set(GRPO_PRESETS) <= set(CASES)


@pytest.mark.parametrize("case", list(CASES))
def test_loss_and_gradient_match_trl(case, trl_model_path, tmp_path):
    ours, (trl_type, scale, eps_high, max_len) = CASES[case]
    trl_adv, trl_loss, trl_grad, metrics = trl_loss_and_grad(*trl_model_path, tmp_path, trl_type, scale, eps_high,
                                                             max_len)
    cur, old, ref = fixed_logps()
    logp = cur.clone().requires_grad_(True)
    adv = R.group_advantages(REWARDS, scale=ours["scale_rewards"]).flatten()  # (N,)
    loss, stats = R.grpo_loss(logp, old, ref, adv, mask(), ours["loss_normaliser"], clip_eps=0.2,
                              clip_eps_high=ours["clip_eps_high"], beta=0.04, max_len=max_len)
    loss.backward()
    assert torch.allclose(adv, trl_adv, atol=1e-6, rtol=0)
    assert abs(float(loss.detach()) - float(trl_loss)) < 1e-6
    assert torch.allclose(logp.grad, trl_grad, atol=1e-6, rtol=0)
    assert trl_grad.abs().max() > 1e-3  # the gradient is not trivially zero
    assert stats["clip_low"] > 0 and stats["clip_high"] > 0  # both sides of the clip engaged
    assert stats["clip_low"] == pytest.approx(metrics["clip_ratio/low_mean"], abs=1e-6)
    assert stats["clip_high"] == pytest.approx(metrics["clip_ratio/high_mean"], abs=1e-6)
    assert stats["kl"] == pytest.approx(metrics["kl"], abs=1e-6)


# ------------------------------------------------------------------------------------------ unit tests


def test_group_advantages_mean_std_and_all_equal_group():
    adv = R.group_advantages(REWARDS)
    assert adv.shape == (B, G)
    assert torch.allclose(adv.mean(1), torch.zeros(B), atol=1e-6)
    assert torch.allclose(adv[0].std(), torch.tensor(1.0), atol=1e-3)  # unit spread (up to the 1e-4 guard)
    assert torch.equal(adv[1], torch.zeros(G))  # std 0: advantages 0, no NaN
    assert torch.isfinite(R.group_advantages(torch.zeros(2, G))).all()
    assert torch.equal(R.group_advantages(torch.ones(3, 1)), torch.zeros(3, 1))  # G = 1: no NaN either
    centred = R.group_advantages(REWARDS, scale=False)  # Dr. GRPO
    assert torch.allclose(centred, REWARDS - REWARDS.mean(1, keepdim=True))


def test_kl_k3_is_nonnegative_and_zero_at_equality():
    g = torch.Generator().manual_seed(1)
    a, b = -torch.rand(50, 7, generator=g) * 5, -torch.rand(50, 7, generator=g) * 5
    kl = R.kl_k3(a, b)
    assert (kl >= 0).all() and kl.max() > 0
    assert torch.equal(R.kl_k3(a, a), torch.zeros_like(a))


def test_on_policy_gradient_is_minus_advantage_over_length():
    # mu = 1, beta = 0: ratio 1, d(-J)/d logp_it = -A_i / |o_i| / N on real tokens, 0 on padding
    cur, _, _ = fixed_logps()
    logp = cur.clone().requires_grad_(True)
    adv = R.group_advantages(REWARDS).flatten()
    loss, stats = R.grpo_loss(logp, logp.detach(), None, adv, mask(), "seq", beta=0.0)
    loss.backward()
    lengths = torch.tensor(LENGTHS, dtype=torch.float32)
    assert torch.allclose(logp.grad, -(adv / lengths / len(LENGTHS))[:, None] * mask(), atol=1e-7)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)  # the logged loss is ~0 at mu = 1 (docs/PAPER.md §7)
    assert stats["clip_frac"] == 0.0 and stats["ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize("normaliser", R.NORMALISERS)
def test_micro_batches_add_up_to_the_full_batch(normaliser):
    cur, old, ref = fixed_logps()
    adv, m = R.group_advantages(REWARDS).flatten(), mask()
    full, _ = R.grpo_loss(cur, old, ref, adv, m, normaliser, max_len=8)
    kw = dict(max_len=8, n_seqs=len(LENGTHS), n_tokens=float(m.sum()))
    parts = [R.grpo_loss(cur[s], old[s], ref[s], adv[s], m[s], normaliser, **kw)[0]
             for s in (slice(0, 5), slice(5, None))]
    assert float(sum(parts)) == pytest.approx(float(full), abs=1e-7)


def test_each_normaliser_alone_is_its_formula():
    # on-policy, beta = 0: every real token of output i contributes -A_i, so only the divisor differs
    cur, _, _ = fixed_logps()
    adv = torch.arange(len(LENGTHS), dtype=torch.float32) - 4.0  # (N,), not centred, so nothing cancels
    lengths, n = torch.tensor(LENGTHS, dtype=torch.float32), len(LENGTHS)
    expected = {"seq": -adv.sum() / n,  # (1/|o_i|) sum_t, then the mean over outputs
                "token": -(adv * lengths).sum() / lengths.sum(),  # every token weighs the same
                "constant": -(adv * lengths).sum() / (n * 8)}  # a constant: max_len x N
    stats = {}
    for normaliser, value in expected.items():
        loss, stats[normaliser] = R.grpo_loss(cur, cur, None, adv, mask(), normaliser, beta=0.0, max_len=8)
        assert float(loss) == pytest.approx(float(value), abs=1e-6)
    assert stats["seq"] == stats["token"] == stats["constant"]  # the normaliser changes nothing else


def test_clip_eps_high_alone_moves_only_the_upper_bound():
    # one output, 4 tokens with ratios 1.1, 1.25, 1.4, 0.7 against pi_old = 1; beta 0, the paper's "seq"
    old = torch.zeros(1, 4)
    ratios, m = torch.tensor([[1.1, 1.25, 1.4, 0.7]]), torch.ones(1, 4)

    def run(adv, eps_high):
        logp = ratios.log().requires_grad_(True)
        loss, stats = R.grpo_loss(logp, old, None, torch.tensor([adv]), m, "seq", 0.2, eps_high, beta=0.0)
        loss.backward()
        return float(loss.detach()), (logp.grad != 0).squeeze(0).tolist(), stats

    sym, sym_grad, sym_stats = run(1.0, None)  # upper bound 1.2: 1.25 and 1.4 are clipped
    high, high_grad, high_stats = run(1.0, 0.28)  # upper bound 1.28: only 1.4 is
    assert sym == pytest.approx(-(1.1 + 1.2 + 1.2 + 0.7) / 4) and high == pytest.approx(-(1.1 + 1.25 + 1.28 + 0.7) / 4)
    assert sym_grad == [True, False, False, True] and high_grad == [True, True, False, True]
    assert (sym_stats["clip_high"], high_stats["clip_high"]) == (0.5, 0.25)
    assert run(1.0, 0.2)[:2] == (sym, sym_grad)  # eps_high = eps is the symmetric clip, None's meaning
    assert run(-1.0, None)[:2] == run(-1.0, 0.28)[:2]  # A < 0: only the lower bound acts, which is unchanged


def test_token_level_advantages_and_bad_normaliser():
    cur, old, ref = fixed_logps()
    adv = R.group_advantages(REWARDS).flatten()
    a, _ = R.grpo_loss(cur, old, ref, adv, mask())
    b, _ = R.grpo_loss(cur, old, ref, adv[:, None].expand(-1, T), mask())  # (N, T): process supervision's shape
    assert float(a) == pytest.approx(float(b))
    with pytest.raises(ValueError, match="grpo.loss_normaliser = 'grpo': choose one of seq, token, constant"):
        R.grpo_loss(cur, old, ref, adv, mask(), "grpo")


def test_docstring_examples():
    result = doctest.testmod(R)
    assert result.attempted > 0 and result.failed == 0
