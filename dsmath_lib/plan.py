"""A dry run of a scale: per notebook and stage, the tokens, FLOPs, GPU-hours and memory per GPU it would take,
and how it would be launched. Nothing is trained, loaded or downloaded.

    python -m dsmath_lib.plan --scale paper                       # on H100 SXM at 40% MFU
    python -m dsmath_lib.plan --scale gpu --gpu a100-80gb --mfu 0.3
    p = plan(load_params(params_path("paper")))                   # Plan: n, layout, stages; print(render(p))

How it counts (the usual dense-transformer estimates):
- N from the model config: model.pretrained's config.json (a local folder, the copy under
  params/models/<hub name>/, or the HF cache / hub), else the size's LlamaConfig; the model is built on the
  meta device and counted, embeddings included (tied ones once; rows for our special tokens left out).
- Training 6N FLOPs per token. Sampling 2N per generated token, max_new_tokens for every output (an upper
  bound); prompt prefill, attention over the context and tool rounds are not counted. A GRPO step: rollouts
  2N x questions x G x max_new_tokens, the update 6N x mu per rollout token, + 2N for the reference (beta > 0)
  and 2N for pi_old (mu > 1); DAPO's extra sampling rounds are not counted.
- GPU-hours = FLOPs / (peak dense bf16 FLOP/s x MFU) / 3600, one MFU for all (--mfu); decoding is memory-bound
  and runs far below a training MFU, so sampling hours are a lower bound.
- Memory per GPU: a trained model 16 bytes/param (bf16 weights and gradients with fp32 master weights and Adam
  moments, 2 + 2 + 12 as the ZeRO paper counts; fp32 weights under bf16 autocast, 4 + 4 + 8, the same sum),
  sharded as the accelerate config says (DDP or one process: nothing; ZeRO-2: gradients and optimizer state;
  FSDP, ZeRO-3: all); a frozen model model.dtype's bytes. No activations, KV cache or CUDA context. GRPO (05)
  runs in the notebook's process, on one GPU.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dsmath_lib import paths
from dsmath_lib.config import Params, load_params, params_path
from dsmath_lib.data import SYNTH_BENCHMARKS
from dsmath_lib.eval.benchmarks import train_source

HARDWARE = {  # peak dense (no sparsity) bf16 tensor-core TFLOP/s and memory in GB, from NVIDIA's datasheets
    "h100-sxm": ("H100 SXM", 989.0, 80),
    "h200": ("H200 SXM", 989.0, 141),
    "a100-80gb": ("A100 80GB", 312.0, 80),
}
SPLIT_SIZES = {"gsm8k": (7473, 1319), "math": (7500, 5000), "math500": (4500, 500)}  # published (train, test); MATH500's train: PRM800K's 4,500
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
TRAINED_BYTES = 16  # per parameter: weights + gradients + Adam's two moments, with fp32 master weights
STEPS_PER_SOLUTION = 4  # CoT lines per solution for the labelling count (measured: 3.7 at tiny, 06's PRM data)
PAPER = {  # the paper's own figures (docs/PAPER.md), beside the stages they correspond to
    "init": "starts from DeepSeek-Coder-Base-v1.5 7B (§2.3)",
    "mining": "4 iterations, 35.5M pages, 120B tokens (§2.1)",
    "02": "1.3B model, 150B tokens per corpus (Table 1)",
    "03": "1.3B model: 400B general or code, then 150B math (Tables 6-8)",
    "base": "DeepSeekMath-Base 7B: 500B tokens from DeepSeek-Coder-Base-v1.5 (§2.3)",
    "sft": "776K examples, 500 steps x 256 x 4K = 0.52B tokens (§3)",
    "grpo": "144K questions, G = 64, batch 1024 = 16 x 64, max length 1024, mu = 1 (§4)",
    "ppo": "PPO needs a value model of the policy's size (§4.1.1)",
}


@dataclass
class Stage:
    """One line of the plan: what a notebook trains or samples, and what it holds on each GPU."""

    notebook: str
    name: str
    tokens: int = 0  # trained tokens, or generated tokens for sampling stages
    flops: float = 0.0
    memory: dict[str, float] = field(default_factory=dict)  # model role -> bytes per GPU
    launch: str = ""
    paper: str = ""


@dataclass(frozen=True)
class Layout:
    """How an accelerate config places a trained model: `sharded` names what is split over `gpus`."""

    name: str
    gpus: int = 1
    sharded: str = ""  # "", "grads+optimizer" (ZeRO-2), "all" (FSDP, ZeRO-3)

    def trained_bytes(self, n: int) -> float:
        """Bytes per GPU of a trained model of n parameters: weights, gradients and Adam state."""
        if self.sharded == "all":
            return TRAINED_BYTES * n / self.gpus
        if self.sharded == "grads+optimizer":  # bf16 weights replicated; bf16 grads, fp32 master and moments split
            return 2 * n + (TRAINED_BYTES - 2) * n / self.gpus
        return TRAINED_BYTES * n


def read_layout(config: str) -> Layout:
    """The Layout of an accelerate config file ("" = one process, as dsmath_lib.train.run does without one)."""
    if not config:
        return Layout("one process")
    raw = yaml.safe_load((paths.ROOT / config).read_text())
    gpus = int(raw.get("num_processes", 1)) * int(raw.get("num_machines", 1))
    kind = raw.get("distributed_type", "NO")
    if kind == "DEEPSPEED":
        stage = int(raw.get("deepspeed_config", {}).get("zero_stage", 0))
        sharded = {2: "grads+optimizer", 3: "all"}.get(stage, "")
        return Layout(f"DeepSpeed ZeRO-{stage} x {gpus}", gpus, sharded)
    if kind == "FSDP":
        return Layout(f"FSDP x {gpus}", gpus, "all")
    return Layout(f"DDP x {gpus}" if gpus > 1 else "one process", gpus)


@dataclass
class Plan:
    """The stages of one scale, with the parameter count and training layout they were computed from."""

    params: Params
    n: int  # N, parameters of the scale's model
    layout: Layout  # of pretrain.accelerate_config (02-03; 04's is sft.accelerate_config)
    stages: list[Stage]


class _Vocab(list):
    """A stand-in tokenizer for model.llama_config, which reads only len() and the special-token ids."""

    pad_token_id = bos_token_id = eos_token_id = None


def model_config(params: Params):
    """The transformers config of the scale's model; a hub name needs its config.json in params/models/<name>/,
    the HF cache or the hub."""
    from transformers import AutoConfig

    from dsmath_lib.model import llama_config

    name = params.model.pretrained
    if not name:
        return llama_config(params.model, _Vocab(range(params.tokenizer.vocab_size)))
    # a local path in params is relative to notebooks/, where the notebooks run (real-smoke's fixture checkpoint)
    for folder in (Path(name), paths.NOTEBOOKS_DIR / name, paths.PARAMS_DIR / "models" / name):
        if (folder / "config.json").is_file():
            return AutoConfig.from_pretrained(str(folder))
    try:
        return AutoConfig.from_pretrained(name)
    except OSError as err:
        raise OSError(f"model.pretrained={name!r}: no config.json to count its parameters; put the hub's copy in "
                      f"{paths.PARAMS_DIR / 'models' / name}/ or go online ({err})") from err


def parameter_count(config) -> int:
    """Parameters of a model built from `config` on the meta device (no memory, no weights)."""
    import torch
    from transformers import AutoModelForCausalLM

    from dsmath_lib.model import count_parameters

    with torch.device("meta"):
        return count_parameters(AutoModelForCausalLM.from_config(config))


def split_size(params: Params, benchmark: str, split: str) -> int:
    """Problems in a benchmark's train or test split (synthetic: the world's sizes)."""
    if benchmark in SYNTH_BENCHMARKS:
        return params.world.n_train if split == "train" else params.world.n_test
    return SPLIT_SIZES[benchmark][split == "test"]


def _decoded(params: Params, outputs_per_problem: int, limit: int) -> int:
    """Generated tokens of one pass over every eval benchmark's first `limit` test problems (0 = all)."""
    problems = sum(min(limit or math.inf, split_size(params, b, "test")) for b in params.eval.benchmarks)
    return int(problems * outputs_per_problem * params.sampling.max_new_tokens)


def _sampling(notebook: str, name: str, tokens: int, n: int, held: dict[str, float]) -> Stage:
    return Stage(notebook, name, tokens, 2.0 * n * tokens, held, "in the notebook's process (eval.evaluate)")


def _train_launch(params: Params, config: str) -> str:
    """How dsmath_lib.train.run starts a run of 02-04 under accelerate config file `config` ("" = none)."""
    spec = f"artifacts/{params.scale}/runs/<run>/spec.json"
    if config:
        return f"accelerate launch --config_file {config} -m dsmath_lib.train {spec}"
    return f"in the notebook's process, as python -m dsmath_lib.train {spec}"


def _pretraining(params: Params, n: int, layout: Layout) -> list[Stage]:
    """02-03: the warm start, then every arm's stages per seed (a stage two arms share trained once), and the
    evaluations of every run (02: few-shot CoT, with learning curves; 03: few-shot CoT and PoT)."""
    from dsmath_lib import pretraining

    cfg = params.pretrain
    launch = _train_launch(params, cfg.accelerate_config)
    held, frozen = {"model (trained)": layout.trained_bytes(n)}, {"model (frozen)": DTYPE_BYTES[params.model.dtype] * n}
    out, seen = [], set()
    if cfg.warm_start_tokens:
        out.append(Stage("02_corpus_ablations", "warm start: general", cfg.warm_start_tokens,
                         6.0 * n * cfg.warm_start_tokens, held, launch))
    for notebook, arms in (("02_corpus_ablations", pretraining.corpus_arms(cfg)),
                           ("03_code_vs_math", pretraining.staging_arms(cfg))):
        for arm in arms:
            for seed in arm.seeds:
                for i, stage in enumerate(arm.stages):
                    label = f"{arm.name}, seed {seed}: " + " + ".join(name for name, _ in stage.sources)
                    if (arm.stages[: i + 1], seed) in seen:
                        out.append(Stage(notebook, label + " (trained already, reused)"))
                        continue
                    seen.add((arm.stages[: i + 1], seed))
                    paper = PAPER["base"] if arm.name == "code, then math" else PAPER[notebook[:2]]
                    out.append(Stage(notebook, label, stage.tokens, 6.0 * n * stage.tokens, held, launch, paper))
        runs, curves = len({(a.stages, s) for a in arms for s in a.seeds}), notebook.startswith("02")
        tokens = runs * _decoded(params, 1 if curves else 2, cfg.eval_problems)
        tokens += runs * cfg.eval_points * _decoded(params, 1, cfg.curve_problems) if curves else 0
        name = f"evaluation: {runs} runs" + (" and their learning curves" if curves else "") + ", greedy"
        out.append(_sampling(notebook, name, tokens, n, frozen))
    return out


def _sft(params: Params, n: int) -> list[Stage]:
    """04: SFT (steps x batch x context tokens) under sft.accelerate_config, then base and Instruct evaluated greedy."""
    cfg, context = params.sft, params.model.context_length
    layout = read_layout(cfg.accelerate_config)
    tokens, frozen = cfg.steps * cfg.batch_size * context, {"model (frozen)": DTYPE_BYTES[params.model.dtype] * n}
    return [Stage("04_sft", f"SFT: {cfg.steps} steps x {cfg.batch_size} x {context}", tokens, 6.0 * n * tokens,
                  {"model (trained)": layout.trained_bytes(n)}, _train_launch(params, cfg.accelerate_config),
                  PAPER["sft"]),
            _sampling("04_sft", "evaluation: base 1 mode + Instruct 3 modes, greedy",
                      _decoded(params, 4, cfg.eval_problems), n, frozen)]


def _grpo(params: Params, n: int) -> list[Stage]:
    """05 (GRPO, outcome supervision, the rule as reward) and what 06's PPO and process supervision would add:
    the value model and the reward models GRPO does without."""
    g, frozen = params.grpo, DTYPE_BYTES[params.model.dtype] * n
    questions = sum(split_size(params, s, "train") for s in dict.fromkeys(map(train_source, params.eval.benchmarks)))
    steps = g.steps or math.ceil(questions / g.questions_per_step)
    tokens = steps * g.questions_per_step * g.group_size * g.max_new_tokens
    held = {"policy (trained)": Layout("one process").trained_bytes(n), "reference (frozen)": frozen}
    if g.rollout_engine == "vllm":
        held["vLLM copy of the policy"] = frozen
    update = 6 * g.updates_per_step + 2 * (g.beta > 0) + 2 * (g.updates_per_step > 1)  # x N per rollout token
    launch = f"in the notebook's process, one GPU; rollouts: {g.rollout_engine}"
    evals = (steps // max(g.eval_every, 1) + 1) * _decoded(params, 1, g.eval_problems)
    evals += 2 * 2 * _decoded(params, 1 + params.eval.n_samples, g.eval_problems)  # Table 5: 2 models x 2 modes
    name = f"GRPO rollouts: {steps} steps x {g.questions_per_step} x G {g.group_size} x {g.max_new_tokens}"
    return [Stage("05_grpo", name, tokens, 2.0 * n * tokens, held, launch, PAPER["grpo"]),
            Stage("05_grpo", f"GRPO update: mu {g.updates_per_step}, reference forward", tokens, update * n * tokens,
                  held, launch),
            _sampling("05_grpo", "evaluation: held-out checks, Table 5", evals, n, {"model (frozen)": frozen})]


def _rl_ablations(params: Params, n: int) -> list[Stage]:
    """06 at rl_ablation's shared loop (rl.methods.method_config): per run, rollouts of steps x questions x G
    outputs (RFT and DPO sample theirs once from the SFT model) and its update per rollout token: 6N (+ 2N for
    the reference where beta > 0; DPO always); PPO + 6N for the value model and 2N for its targets; GRPO+PS +
    2N for the PRM. GRPO+OS is 05's run when the loop is 05's. Math-Shepherd labelling (the initial and held-out
    rounds, then one per later iterative round): prm_questions x prm_samples solutions, and prm_completions
    completions of each step prefix but the last, at STEPS_PER_SOLUTION steps and max_new_tokens per output
    (an upper bound); the PRM trains 6N on prm_epochs passes over its solutions."""
    from dsmath_lib.rl.methods import method_config

    abl, frozen = params.rl_ablation, DTYPE_BYTES[params.model.dtype] * n
    cfg = method_config(params.grpo, abl)
    questions = sum(split_size(params, s, "train") for s in dict.fromkeys(map(train_source, params.eval.benchmarks)))
    steps = cfg.steps or math.ceil(questions / cfg.questions_per_step)
    tokens = steps * cfg.questions_per_step * cfg.group_size * cfg.max_new_tokens  # one run's outputs
    trained = Layout("one process").trained_bytes(n)
    held = {"policy (trained)": trained, "reference (frozen)": frozen}
    launch, kl = f"in the notebook's process, one GPU; rollouts: {cfg.rollout_engine}", 2 * (cfg.beta > 0)
    runs = [("RFT: SFT-model samples once (the reference samples), update (no KL)", 6, held, ""),
            ("DPO: SFT-model samples once, update against the reference", 6 + 2, held, ""),
            ("online RFT: rollouts and update (no KL)", 6, held, ""),
            ("PPO: rollouts, update, value model", 6 + kl + 6 + 2, held | {"value model (trained)": trained},
             PAPER["ppo"])]
    runs += [] if cfg == params.grpo else [("GRPO+OS: rollouts and update", 6 + kl, held, "")]
    runs += [(f"GRPO+PS, iterative round {r}: rollouts, update, PRM step rewards", 6 + kl + 2,
              held | {"PRM (frozen)": frozen}, "") for r in range(1, abl.iterative_rounds + 1)]
    out = [Stage("06_rl_ablations", f"{name} ({steps} steps x {cfg.questions_per_step} x G {cfg.group_size})",
                 tokens, (2 + update) * n * tokens, memory, launch, paper) for name, update, memory, paper in runs]
    solutions = abl.prm_questions * abl.prm_samples
    labelled = solutions * (1 + (STEPS_PER_SOLUTION - 1) * abl.prm_completions) * cfg.max_new_tokens
    rounds = 2 + abl.iterative_rounds - 1  # initial, held-out, one refresh per later round
    out.append(Stage("06_rl_ablations", f"Math-Shepherd labels: {rounds} rounds x {solutions} solutions x "
                     f"{abl.prm_completions} completions per step", rounds * labelled, 2.0 * n * rounds * labelled,
                     {"sampler (frozen)": frozen}, launch))
    prm_tokens = abl.iterative_rounds * abl.prm_epochs * solutions * cfg.max_new_tokens
    out.append(Stage("06_rl_ablations", f"PRM training: {abl.iterative_rounds} rounds x {abl.prm_epochs} epochs",
                     prm_tokens, 6.0 * n * prm_tokens, {"PRM (trained)": trained}, launch))
    evals = (len(runs) + 1) * (steps // max(cfg.eval_every, 1) + 2) * _decoded(params, 1, cfg.eval_problems)
    out.append(_sampling("06_rl_ablations", "evaluation: held-out curves and final models", evals, n,
                         {"model (frozen)": frozen}))
    return out


def _evaluation(params: Params, n: int) -> Stage:
    """07: init and base few-shot (1 mode each), Instruct and RL chat CoT and tool-integrated (2 each), and
    eval.pretrained when named."""
    modes = 1 + 1 + 2 + 2 + (1 if params.eval.pretrained else 0)
    tokens = _decoded(params, modes * (1 + params.eval.n_samples), params.eval.n_problems)
    name = f"evaluation: {modes} checkpoint-modes x (greedy + {params.eval.n_samples} samples)"
    return _sampling("07_evaluation", name, tokens, n, {"model (frozen)": DTYPE_BYTES[params.model.dtype] * n})


def plan(params: Params) -> Plan:
    """Every stage of the study at `params`' scale, in notebook order."""
    n, m = parameter_count(model_config(params)), params.mining
    layout, frozen = read_layout(params.pretrain.accelerate_config), DTYPE_BYTES[params.model.dtype]
    init = f"load {params.model.pretrained}, save" if params.model.pretrained else f"build untrained {params.model.size}"
    mining = f"fastText mining on CPU: {m.iterations} iterations, top {m.token_budget:,} words each"
    stages = [Stage("00_world", f"init checkpoint: {init} ({n:,} parameters)", memory={"model (frozen)": frozen * n},
                    paper=PAPER["init"]),
              Stage("01_corpus_mining", mining, launch=f"datatrove {m.executor} executor: {m.tasks} tasks, "
                    f"{m.workers} workers", paper=PAPER["mining"]),
              *_pretraining(params, n, layout), *_sft(params, n), *_grpo(params, n),
              *_rl_ablations(params, n), _evaluation(params, n)]
    return Plan(params, n, layout, stages)


def gpu_hours(flops: float, gpu: str, mfu: float) -> float:
    """GPU-hours for `flops` at `mfu` of the GPU's peak dense bf16 throughput.

    >>> round(gpu_hours(989e12 * 3600, "h100-sxm", 1.0), 6)
    1.0
    """
    return flops / (HARDWARE[gpu][1] * 1e12 * mfu) / 3600


def _count(x: float) -> str:
    """A count to 3 significant digits: 150B, 524M, 614K, 999."""
    unit, size = next(((u, v) for u, v in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)) if x >= v), ("", 1))
    return f"{x / size:.3g}{unit}"


def _hours(h: float) -> str:
    return f"{h:,.1f}" if h >= 1 else f"{h:.2g}"


def _gb(b: float) -> str:
    return f"{b / 1e9:.1f}" if b >= 1e9 else f"{b / 1e9:.2g}"


def _stage_lines(s: Stage, gpu: str, mfu: float, shown: dict) -> list[str]:
    """A stage's lines; its launch and paper lines only where they change within the notebook (`shown`)."""
    lines, figures, limit = [f"  {s.name}"], [], HARDWARE[gpu][2]
    if s.flops:
        figures.append(f"tokens {_count(s.tokens)}, FLOPs {s.flops:.3g}, {_hours(gpu_hours(s.flops, gpu, mfu))} GPU-h")
    if s.memory:
        held = sum(s.memory.values())
        figures.append(f"per GPU {_gb(held)} GB" + (f" > {limit} GB: does not fit" if held > limit * 1e9 else "")
                       + " = " + ", ".join(f"{k} {_gb(v)}" for k, v in s.memory.items()))
    lines += [f"      {'; '.join(figures)}"] if figures else []
    for key, title in (("launch", "run"), ("paper", "paper")):
        if getattr(s, key) and getattr(s, key) != shown.get(key):
            lines.append(f"      {title}: {getattr(s, key)}")
            shown[key] = getattr(s, key)
    return lines


def render(p: Plan, gpu: str = "h100-sxm", mfu: float = 0.4) -> str:
    """The plan as text: a header saying how it was counted, one block per notebook, the totals."""
    label, peak, _ = HARDWARE[gpu]
    params, layout, source = p.params, p.layout, Path(p.params.source)
    lines = [f"dsmath plan, scale {params.scale} ({source.name}): {params.model.pretrained or params.model.size}, "
             f"N = {p.n:,} parameters; {label}, {peak:g} TFLOP/s peak bf16 dense, MFU {mfu:.0%}",
             "training 6N FLOPs/token; sampling 2N per generated token (max_new_tokens per output, an upper bound); "
             f"memory: trained 16 B/param, sharded by {layout.name}; frozen {DTYPE_BYTES[params.model.dtype]} B/param "
             f"({params.model.dtype}); no activations or KV cache"]
    total = 0.0
    for notebook in dict.fromkeys(s.notebook for s in p.stages):
        block = [s for s in p.stages if s.notebook == notebook]
        hours = sum(gpu_hours(s.flops, gpu, mfu) for s in block)
        total += hours
        lines += ["", f"== {notebook}: {_hours(hours)} GPU-hours"]
        shown: dict = {}
        for s in block:
            lines += _stage_lines(s, gpu, mfu, shown)
    days = total / 24
    lines += ["", f"total (00-07): {_hours(total)} GPU-hours on {label} at {mfu:.0%} MFU = {_hours(days)} GPU-days,"
              f" {_hours(days / layout.gpus)} days on the {layout.gpus} GPU(s) of {layout.name}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="paper", help="smoke, tiny, gpu or paper (default)")
    parser.add_argument("--gpu", default="h100-sxm", choices=sorted(HARDWARE), help="hardware of the GPU-hours")
    parser.add_argument("--mfu", type=float, default=0.4, help="model FLOPs utilisation, 0-1 (default 0.4)")
    args = parser.parse_args(argv)
    params = load_params(params_path(args.scale))
    print(render(plan(params), args.gpu, args.mfu))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
