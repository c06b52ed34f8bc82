"""Reinforcement learning for math (paper §4): GRPO faithful to the paper, with Dr. GRPO and DAPO options.

    from dsmath_lib.rl import train_grpo
    result = train_grpo(policy, ref, tokenizer, questions, params.grpo, out, eval_problems=held_out)

Modules: grpo (the objective: group advantages, the k3 KL, the clipped loss and its variants; pure
tensors), rewards (the outcome reward: the evaluation's grader), rollout (G sampled outputs per question as
tensors, per-token log-probs, the sampler / vLLM engines), trainer (the loop: rollout, reward, update,
logging, evaluation, resume), report (the run folder's name, the training-curve figure). Where each departs from the paper at small scale is said in its docstring.
"""

from dsmath_lib.rl.grpo import LOSS_TYPES, group_advantages, grpo_loss, kl_k3
from dsmath_lib.rl.report import plot_training, run_folder
from dsmath_lib.rl.rewards import outcome_rewards
from dsmath_lib.rl.rollout import Rollout, make_sampler, token_logprobs
from dsmath_lib.rl.trainer import GRPOResult, evaluate_policy, train_grpo

__all__ = ["LOSS_TYPES", "GRPOResult", "Rollout", "evaluate_policy", "group_advantages", "grpo_loss", "kl_k3",
           "make_sampler", "outcome_rewards", "plot_training", "run_folder", "token_logprobs", "train_grpo"]
