"""Reinforcement learning for math (paper §4): GRPO faithful to the paper, with Dr. GRPO and DAPO options.

    from dsmath_lib.rl import train_grpo
    result = train_grpo(policy, ref, tokenizer, questions, params.grpo, out, eval_problems=held_out)

Modules: grpo (the objective: group advantages, the k3 KL, the clipped loss and its variants; pure
tensors), rewards (the outcome reward: the evaluation's grader), rollout (G sampled outputs per question as
tensors, per-token log-probs, the sampler / vLLM engines), trainer (the loop: rollout, reward, update,
logging, evaluation, resume), report (the run folder's name, the training-curve figure); and the pure tensor
pieces of the methods GRPO is compared with (notebook 06): process (process-supervision advantages from a
PRM's step rewards), ppo (the KL-penalised reward, GAE, the clipped policy and value losses), dpo (the
sigmoid DPO loss and its gradient coefficient), paradigm (the unified paradigm, Table 10, as data pointing
at these functions); for process supervision, prm_labels (a solution's steps as its lines, located in
tokens; Math-Shepherd hard or soft step labels from completions; the replay of historical examples) and
prm (the process reward model: a scalar head on the policy's architecture, trained at step ends, its
held-out accuracy and AUC, and the step rewards process takes); and their trainers, each train_grpo with its
data source, coefficient or update swapped: methods (RFT, online RFT, DPO, GRPO with process supervision,
iterative RL, `train_method` by Table 10 name) and ppo_trainer (PPO with a value model; PPO-vs-GRPO step time
and memory). Where each departs from the paper at small scale is said in its docstring.
"""

from dsmath_lib.rl.dpo import dpo_gradient_coefficient, dpo_loss
from dsmath_lib.rl.grpo import NORMALISERS, group_advantages, grpo_loss, kl_k3
from dsmath_lib.rl.methods import (IterativeResult, dpo_pairs, initial_prm, method_config, prm_examples,
                                   rft_dataset, train_dpo, train_grpo_ps, train_iterative, train_method,
                                   train_online_rft, train_rft)
from dsmath_lib.rl.paradigm import METHODS, paradigm_table
from dsmath_lib.rl.ppo import clipped_value_loss, gae, kl_penalised_rewards, ppo_policy_loss
from dsmath_lib.rl.ppo_trainer import PPOResult, compare_ppo_grpo, measure_step, train_ppo
from dsmath_lib.rl.prm import build_prm, load_prm, prm_metrics, save_prm, step_rewards, train_prm
from dsmath_lib.rl.prm_labels import PRMExample, label_steps, replay_mix, step_ends
from dsmath_lib.rl.process import process_advantages
from dsmath_lib.rl.report import plot_training, run_folder
from dsmath_lib.rl.rewards import outcome_rewards
from dsmath_lib.rl.rollout import Rollout, make_sampler, token_logprobs
from dsmath_lib.rl.trainer import GRPOResult, evaluate_policy, train_grpo

__all__ = ["NORMALISERS", "GRPOResult", "Rollout", "evaluate_policy", "group_advantages", "grpo_loss", "kl_k3",
           "make_sampler", "outcome_rewards", "plot_training", "run_folder", "token_logprobs", "train_grpo"]
__all__ += ["METHODS", "clipped_value_loss", "dpo_gradient_coefficient", "dpo_loss", "gae", "kl_penalised_rewards",
            "paradigm_table", "ppo_policy_loss", "process_advantages"]
__all__ += ["PRMExample", "build_prm", "label_steps", "load_prm", "prm_metrics", "replay_mix", "save_prm",
            "step_ends", "step_rewards", "train_prm"]
__all__ += ["IterativeResult", "PPOResult", "compare_ppo_grpo", "dpo_pairs", "initial_prm", "measure_step",
            "method_config", "prm_examples", "rft_dataset", "train_dpo", "train_grpo_ps", "train_iterative",
            "train_method", "train_online_rft", "train_ppo", "train_rft"]
