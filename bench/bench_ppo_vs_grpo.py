"""PPO (with its value model) vs GRPO: step time and memory on the same model, batch and lengths.

    python bench/bench_ppo_vs_grpo.py                       # tiny-s, 4 questions x G 8, 64 tokens, 3 steps
    python bench/bench_ppo_vs_grpo.py --size tiny --max-len 128 --steps 4

Both methods start from the same weights (a fresh `--size` model from dsmath_lib.model.build_model with our BPE
trained on the embedded world, saved once and loaded by each), train on the same questions with the same
GRPOConfig (questions x G outputs, micro-batch = the whole batch, one update per rollout, beta 0.04) and the
same completion length: a hook on the LM head makes <|eos|> impossible, so every output runs to --max-len
tokens. The reward is the grader (dsmath_lib.rl.rewards). Each method runs in its own subprocess, so the peak
RSS (ru_maxrss, which only grows) is its own. On the CPU only: rl.trainer keeps its batches on the CPU today,
so the CUDA column (torch.cuda.max_memory_allocated) stays nan until the trainer moves tensors to the model.
What the figures are: dsmath_lib.rl.ppo_trainer.measure_step (median seconds per step after a warm-up step;
the training state counted from the tensors: weights of every model, gradients and AdamW moments of the
trained ones). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


def setup(args, workdir: Path) -> Path:
    """The shared model, saved once so both methods load the same weights."""
    from dsmath_lib.config import ModelConfig, WorldConfig
    from dsmath_lib.model import build_model, save_model
    from dsmath_lib.synth import generate_world
    from dsmath_lib.tokenizer import train_tokenizer

    path = workdir / "model"
    if not (path / "config.json").is_file():
        world = generate_world(WorldConfig(seed=0, n_train=400, n_test=8))
        tok = train_tokenizer([p.question + "\n" + p.solution for p in world.train], vocab_size=1024)
        save_model(build_model(ModelConfig(size=args.size, context_length=512), tok, seed=0), tok, path)
    return path


def run_one(args, path: Path) -> dict:
    """measure_step of one method in this process."""
    import torch

    from dsmath_lib.config import GRPOConfig, RLAblationConfig, WorldConfig
    from dsmath_lib.model import load_model
    from dsmath_lib.rl.ppo_trainer import measure_step
    from dsmath_lib.synth import generate_world

    device = "cpu"  # rl.trainer runs its tensors on the CPU today; measure_step reads CUDA peaks once it can
    policy, tok = load_model(path)
    sft, _ = load_model(path)
    for model in (policy, sft):  # no <|eos|>: every output runs to --max-len in both methods
        model.get_output_embeddings().register_forward_hook(lambda m, i, out: out.index_fill_(
            -1, torch.tensor([tok.eos_token_id], device=out.device), float("-inf")))
    n = args.questions * args.group
    cfg = GRPOConfig.from_preset("grpo", steps=args.steps, questions_per_step=args.questions, group_size=args.group,
                                 lr=1e-6, beta=0.04, micro_batch_size=n, max_new_tokens=args.max_len,
                                 rollout_batch_size=n)
    questions = generate_world(WorldConfig(seed=0, n_train=400, n_test=8)).train
    return measure_step(args.method, policy, sft, tok, questions, cfg, RLAblationConfig(), steps=args.steps) | {
        "device": device}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="tiny-s")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max-len", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="steps per method; the first is a warm-up")
    parser.add_argument("--method", choices=["grpo", "ppo"], help=argparse.SUPPRESS)  # the child process's
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        print(json.dumps(run_one(args, setup(args, args.workdir))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        setup(args, Path(tmp))
        rows = []
        for method in ("grpo", "ppo"):
            child = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--method", method, "--workdir", tmp],
                                   capture_output=True, text=True, check=True)
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(f"{args.size}, {args.questions} questions x G {args.group}, {args.max_len} tokens, device {rows[0]['device']}")
    keys = ("step_s", "rollout_s", "update_s", "response_length", "state_mb", "rss_peak_mb", "cuda_peak_mb")
    print("method " + " ".join(f"{k:>15}" for k in keys))
    for row in rows:
        print(f"{row['method']:<6} " + " ".join(f"{row[k]:>15.3f}" for k in keys))
    grpo, ppo = rows
    print(f"PPO / GRPO: step time x{ppo['step_s'] / grpo['step_s']:.2f}, training state x"
          f"{ppo['state_mb'] / grpo['state_mb']:.2f}, peak RSS x{ppo['rss_peak_mb'] / grpo['rss_peak_mb']:.2f}")


if __name__ == "__main__":
    main()
