"""One GRPO step (rollout + update) of dsmath_lib.rl and of trl's GRPOTrainer, side by side on this CPU.

    python bench/bench_grpo.py                        # tiny-s, 4 questions x G 8, 128 tokens, 3 timed steps
    python bench/bench_grpo.py --steps 5 --max-len 64
    python bench/bench_grpo.py --trl-defaults          # trl as it comes: bf16 autocast, gradient checkpointing

Both trainers get the same model (a fresh `tiny-s` Llama from dsmath_lib.model.build_model with our BPE
tokenizer trained on the embedded world), the same batch (questions x G outputs, one micro-batch, one
optimiser step per rollout, beta 0.04, the paper's variant: our preset "grpo", trl's loss_type "grpo" with
scale_rewards "group"), the same reward (dsmath_lib.rl.rewards.outcome_rewards, the evaluation's grader) and
the same completion length: a hook on the LM head makes <|eos|> impossible, so every output runs to
--max-len tokens in both. The first step of each is a warm-up and is not timed.
Both compute in float32 with no activation recomputation, as ours does: trl's GRPOConfig defaults to bf16=True
(autocast) and gradient_checkpointing=True, and on a CPU without native bfloat16 (this VM's host reports
torch.backends.cpu.get_cpu_capability() "AVX2" on some days, AVX-512 on others) bfloat16 matmuls are emulated,
which is why trl's step moved 5x between runs on "the same machine". --trl-defaults runs trl as it comes.
Each trainer runs in its own subprocess, so peak memory (resource.getrusage ru_maxrss) is its own; it is
reported as the whole process's peak and as the growth over the process after imports and model loading.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


FLOAT32_LIKE_OURS = {"bf16": False, "gradient_checkpointing": False}  # trl's GRPOConfig defaults are True for both


def torch_cpu_capability() -> str:
    """The CPU's vector extension torch dispatches to ("AVX2", "AVX512"): bfloat16 is native only with AVX-512 BF16
    or AMX, emulated otherwise."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


def setup(args, workdir: Path):
    """(model path, tokenizer, questions): the shared model saved once, so both trainers load the same weights."""
    from dsmath_lib.config import ModelConfig, WorldConfig
    from dsmath_lib.model import build_model, save_model
    from dsmath_lib.synth import generate_world
    from dsmath_lib.tokenizer import load_tokenizer, train_tokenizer

    world = generate_world(WorldConfig(seed=0, n_train=400, n_test=8))
    path = workdir / "model"
    if not (path / "config.json").is_file():
        tok = train_tokenizer([p.question + "\n" + p.solution for p in world.train], vocab_size=1024)
        save_model(build_model(ModelConfig(size=args.size, context_length=512), tok, seed=0), tok, path)
    return path, load_tokenizer(path), world.train


def never_stop(model, eos_id: int):
    """<|eos|> gets logit -inf wherever the LM head runs, so generation always reaches max length."""
    def hook(module, inputs, output):
        output[..., eos_id] = float("-inf")
        return output
    model.get_output_embeddings().register_forward_hook(hook)


def run_ours(args, path: Path, tok, questions) -> list[float]:
    import copy

    from dsmath_lib.config import GRPOConfig
    from dsmath_lib.model import load_model
    from dsmath_lib.rl.trainer import train_grpo

    policy, _ = load_model(path)
    ref = copy.deepcopy(policy)
    never_stop(policy, tok.eos_token_id)
    n = args.questions * args.group
    cfg = GRPOConfig.from_preset("grpo", steps=args.steps + 1, questions_per_step=args.questions,
                                 group_size=args.group, lr=1e-6, beta=0.04, micro_batch_size=n,
                                 max_new_tokens=args.max_len, eval_every=10_000, rollout_batch_size=n)
    with tempfile.TemporaryDirectory() as out:
        result = train_grpo(policy, ref, tok, questions, cfg, out, progress=False)
    lengths = {h["response_length"] for h in result.history}
    assert lengths == {float(args.max_len)}, f"ours: outputs stopped early ({lengths})"
    print(json.dumps({"rollout_s": [h["rollout_s"] for h in result.history[1:]],
                      "update_s": [h["update_s"] for h in result.history[1:]]}), file=sys.stderr)
    return [h["rollout_s"] + h["update_s"] for h in result.history[1:]]


def run_trl(args, path: Path, tok, questions) -> list[float]:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from dsmath_lib.chat import chat_prompt
    from dsmath_lib.rl.rewards import outcome_rewards

    def reward(prompts, completions, index, **kwargs):
        return outcome_rewards(completions, [questions[i] for i in index])

    class Clock(TrainerCallback):  # a trl step (generation, reward, update) runs between these two events
        def __init__(self):
            self.times = []

        def on_step_begin(self, *a, **k):
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            self.times.append(time.perf_counter() - self.t0)

    model = AutoModelForCausalLM.from_pretrained(str(path))
    never_stop(model, tok.eos_token_id)
    n = args.questions * args.group
    cfg = GRPOConfig(output_dir=tempfile.mkdtemp(), use_cpu=True, report_to=[], save_strategy="no", logging_steps=1,
                     max_steps=args.steps + 1, learning_rate=1e-6, beta=0.04, loss_type="grpo", scale_rewards="group",
                     num_generations=args.group, per_device_train_batch_size=n, gradient_accumulation_steps=1,
                     max_completion_length=args.max_len, temperature=1.0, use_bias_correction_kl=False, seed=0,
                     disable_tqdm=True, **({} if args.trl_defaults else FLOAT32_LIKE_OURS))
    data = Dataset.from_dict({"prompt": [chat_prompt(p.question) for p in questions],
                              "index": list(range(len(questions)))})
    clock = Clock()
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=cfg, train_dataset=data, processing_class=tok,
                          callbacks=[clock])
    rollout_s = []  # trl's rollout: generation, rewards and advantages, timed around the method that does them
    generate_and_score = trainer._generate_and_score_completions

    def timed(batch):
        start = time.perf_counter()
        out = generate_and_score(batch)
        rollout_s.append(time.perf_counter() - start)
        return out

    trainer._generate_and_score_completions = timed
    trainer.train()
    lengths = {round(m["completions/mean_length"], 3) for m in trainer.state.log_history
               if "completions/mean_length" in m}
    assert lengths == {float(args.max_len)}, f"trl: outputs stopped early ({lengths})"
    assert len(rollout_s) == len(clock.times), f"trl generated {len(rollout_s)} times in {len(clock.times)} steps"
    print(json.dumps({"rollout_s": rollout_s[1:], "update_s": [t - r for t, r in zip(clock.times[1:], rollout_s[1:])],
                      "threads": torch.get_num_threads(), "bf16": cfg.bf16,
                      "gradient_checkpointing": cfg.gradient_checkpointing}), file=sys.stderr)
    return clock.times[1:]


def child(args) -> None:
    """One trainer in this process: print a JSON line with its step times and memory."""
    import torch

    torch.set_num_threads(args.threads)
    workdir = Path(args.workdir)
    path, tok, questions = setup(args, workdir)
    base = max_rss_mb()
    times = (run_ours if args.run == "ours" else run_trl)(args, path, tok, questions)
    print(json.dumps({"run": args.run, "step_s": times, "peak_mb": max_rss_mb(), "base_mb": base}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="tiny-s")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step, per round")
    parser.add_argument("--rounds", type=int, default=2, help="ours, trl, ours, trl...: load on the machine hits both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trl-defaults", action="store_true",
                        help="trl's own bf16 autocast and gradient checkpointing instead of float32 like ours")
    parser.add_argument("--run", choices=["ours", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        return child(args)
    runs = {"ours": [], "trl": []}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.rounds):
            for run in runs:
                cmd = [sys.executable, __file__, "--run", run, "--workdir", workdir] + sys.argv[1:]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode:
                    sys.exit(f"{run} failed:\n{proc.stderr[-3000:]}")
                runs[run].append(json.loads(proc.stdout.strip().splitlines()[-1]))
                split = [line for line in proc.stderr.splitlines() if line.startswith('{"rollout_s"')]
                print(f"  {run}: steps {runs[run][-1]['step_s']} {split[-1] if split else ''}", flush=True)
    print(f"GRPO step: {args.size}, {args.questions} questions x G {args.group}, {args.max_len} tokens, "
          f"{args.rounds} rounds x {args.steps} timed steps (after 1 warm-up each), {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f}, CPU {torch_cpu_capability()}, trl " + (
              "with its defaults (bf16 autocast, gradient checkpointing)" if args.trl_defaults
              else "in float32 like ours"))
    summary = {}
    for run, results in runs.items():
        times = sorted(t for r in results for t in r["step_s"])
        summary[run] = (statistics.median(times), times[0])
        peak, base = max(r["peak_mb"] for r in results), min(r["base_mb"] for r in results)
        print(f"  {run:5s} median {summary[run][0]:6.2f} s/step, best {summary[run][1]:6.2f} s/step, "
              f"peak RSS {peak:.0f} MB (+{peak - base:.0f} MB over {base:.0f} MB after loading)")
    print(f"  speed-up (trl / ours): {summary['trl'][0] / summary['ours'][0]:.2f}x median, "
          f"{summary['trl'][1] / summary['ours'][1]:.2f}x best")


if __name__ == "__main__":
    main()
