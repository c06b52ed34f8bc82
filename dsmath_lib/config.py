"""Params files (params/<scale>.yaml) loaded into typed dataclasses, strictly.

    from dsmath_lib.config import load_params
    params = load_params("params/tiny.yaml")
    params.model.size, params.world.n_train

Every value a notebook uses comes from here. Defaults live in the dataclasses below; a params file holds
the scale's values. Loading is strict: an unknown or mistyped key, a value of the wrong type, or a missing
file raises `ParamsError` naming the key and the file. Each field's comment names the paper's symbol and
section where there is one (docs/PAPER.md gives the numbers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

SCALES = ("smoke", "real-smoke", "tiny", "gpu", "paper")


class ParamsError(ValueError):
    """A params file that cannot be used: the message names the file and the key."""


@dataclass
class WorldConfig:
    """The embedded math world (dsmath_lib.synth): problem families, sizes and splits."""

    seed: int = 0  # the world's seed: the same seed gives the same problems, byte for byte
    n_train: int = 20_000  # training problems per benchmark family group (synth-gsm, synth-math)
    n_test: int = 500  # fixed test-set size per synth benchmark
    gsm_max_steps: int = 5  # GSM8K-like problems take 1..gsm_max_steps arithmetic steps (level = steps)
    max_operand: int = 99  # largest starting number / addend at the top level; lower levels use a share of it
    math_levels: int = 5  # MATH-like problems come in levels 1..math_levels (at most 5, like MATH's 1-5)
    ngram: int = 10  # train questions sharing an n-gram with a test question are rejected (paper §2.1: 10)
    code_tasks: int = 200  # synth-code test tasks (HumanEval / MBPP analogue: functions with unit tests)
    code_files: int = 3000  # Python files of the code corpus (GitHub analogue), none a test task


@dataclass
class TokenizerConfig:
    """Byte-level BPE trained on the world's text (dsmath_lib.tokenizer)."""

    vocab_size: int = 1024  # includes the 256 byte symbols and the special tokens
    n_train_texts: int = 20_000  # texts sampled from the world to train the BPE merges


@dataclass
class ModelConfig:
    """Which model: a named tiny size built from scratch, or a pretrained checkpoint."""

    size: str = "tiny"  # a name from dsmath_lib.model.MODEL_SIZES: width, depth and learning rate move together
    pretrained: str = ""  # hub name or local path (gpu/paper scale); when set, `size` is ignored
    context_length: int = 512  # tokens per training sequence; the paper's SFT packs to 4K (§3)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"  # frozen, evaluated models; trained: float32


@dataclass
class SamplingConfig:
    """Defaults for sampling from a model (evaluation and RL rollouts)."""

    max_new_tokens: int = 256  # the paper evaluates MATH with up to 1024 (docs/PAPER.md §7)
    temperature: float = 0.7  # Figure 7's sampling temperature for Maj@K / Pass@K
    top_p: float = 1.0
    batch_size: int = 64


@dataclass
class TrackingConfig:
    """Weights & Biases logging (dsmath_lib.tracking); offline unless WANDB_MODE says otherwise."""

    enabled: bool = True
    project: str = "dsmath"
    entity: str = ""  # empty: wandb's default entity


@dataclass
class MiningConfig:
    """The math corpus miner (dsmath_lib.corpus, paper §2.1): crawl size, fastText, selection, annotation."""

    pool_source: Literal["synth", "files", "hub"] = "synth"  # synth: the generated crawl; files/hub: real pages
    crawl_pages: int = 20_000  # pages of the synthetic crawl (paper: a 40B-page deduplicated Common Crawl pool)
    tutor_reply_share: float = 0.4  # world knob: share of forum math threads with a seed-style tutor reply
    worksheet_share: float = 0.0  # world knob: share of lesson pages laid out as "Question: / Answer:" worksheets
    planted_per_benchmark: int = 20  # test questions per benchmark planted in the crawl (verbatim + paraphrased)
    pool_files: list[str] = field(default_factory=list)  # pool_source files: WET/WARC/JSONL paths or globs
    seed_files: list[str] = field(default_factory=list)  # pool_source files: seed pages (OpenWebMath-like JSONL)
    # (file patterns may start with {shared_data}: paths.SHARED_DATA; other relative paths are relative to notebooks/)
    hub_pool: str = ""  # pool_source hub: dataset name of web pages with a text and url field
    hub_seed: str = "open-web-math/open-web-math"  # pool_source hub: the seed dataset (paper: OpenWebMath)
    hub_pages: int = 100_000  # pool_source hub: pages streamed from each hub dataset
    benchmarks: list[str] = field(default_factory=lambda: ["synth-gsm", "synth-math"])  # decontaminated against
    annotator: Literal["oracle", "human"] = "oracle"  # oracle reads the true kinds; human: JSONL tasks for people
    decisions: str = ""  # human: a JSONL file of {path, is_math} marks made in advance, read before asking (empty:
    # only artifacts/<scale>/annotations/paths-<k>.done.jsonl)
    dim: int = 64  # fastText embedding size (paper: 256)
    lr: float = 0.1  # fastText learning rate (paper: 0.1)
    word_ngrams: int = 3  # fastText word n-grams (paper: 3)
    min_count: int = 3  # fastText min word count (paper: 3)
    epoch: int = 10  # fastText epochs (paper: 3, on 1M pages; a few hundred seed pages need more passes)
    bucket: int = 200_000  # fastText hash buckets (paper: not given; fastText's default is 2M)
    negatives_per_positive: float = 1.0  # random pool pages per seed page (paper: 500K vs 500K, i.e. 1.0)
    iterations: int = 4  # mining rounds (paper: 4)
    token_budget: int = 600_000  # whitespace words kept per iteration (paper: top 40B tokens in iteration 1)
    domain_threshold: float = 0.10  # a domain is math when > this share of its pages was collected (paper: 10%)
    path_depth: int = 2  # URL path segments that name an annotation unit ("/questions/math"; paper: e.g. mathoverflow.net/questions)
    paths_per_iteration: int = 20  # annotation budget: URL paths judged per iteration (paper: human annotators, no number)
    minhash_threshold: float = 0.8  # near-dedup Jaccard threshold on word 5-gram shingles (paper: not given)
    minhash_perm: int = 128  # MinHash permutations
    decontamination_ngram: int = 10  # n of the benchmark n-gram match (paper: 10; texts of 3-9 grams matched whole)
    executor: Literal["local", "slurm", "ray"] = "local"  # datatrove executor of the scoring pass
    tasks: int = 2  # datatrove tasks (pool shards) of the scoring pass
    workers: int = 2  # datatrove worker processes (this machine: 2 cores)
    slurm_partition: str = ""  # executor "slurm" only
    slurm_time: str = "04:00:00"  # executor "slurm" only: time limit per task


@dataclass
class EvalConfig:
    """Evaluation (dsmath_lib.eval.evaluate, notebooks 02-07): benchmarks, prompting, sampling budget, grading."""

    benchmarks: list[str] = field(default_factory=lambda: ["synth-gsm", "synth-math"])  # gpu/paper: gsm8k, math500 / math
    n_problems: int = 0  # first n problems of each benchmark's test set; 0 = all of it
    n_shots: int = 4  # few-shot CoT examples for base models (paper Table 2: few-shot CoT)
    n_samples: int = 64  # samples per problem at sampling.temperature for Maj@K / Pass@K (Figure 7: K = 1..64)
    max_k: int = 64  # largest K on the Maj@K / Pass@K curves (at most n_samples)
    maj_resamples: int = 256  # random K-subsets per problem for Maj@K when exact enumeration is too costly
    max_executions: int = 4  # tool-integrated: programs run per problem (DeepSeekMath's harness)
    sandbox_timeout_s: float = 5.0  # wall-clock limit per model-written program
    grading_workers: int = 2  # math-verify worker processes
    grading_timeout_s: float = 5.0  # per symbolic comparison (docs/PAPER.md §7: a process-level timeout)
    pretrained: str = ""  # another named model to evaluate beside our checkpoints, e.g. a hub name; not
    # model.pretrained, which is checkpoints/init already (load_params refuses it)


# the base model's mix (paper §2.3: 56% DeepSeekMath Corpus, 4% AlgebraicStack, 10% arXiv, 20% GitHub code, 10%
# Common Crawl natural language), in the corpus names of notebook 03; the world has no AlgebraicStack (math in
# code), so its 4% goes to the math corpus
BASE_MIX = {"final": 0.60, "python": 0.20, "arxiv": 0.10, "general": 0.10}


@dataclass
class PretrainConfig:
    """Pretraining on token mixtures (dsmath_lib.train; notebooks 02 and 03: paper Tables 1 and 6-8).

    The model is `model` (its size derives width, depth and peak LR); the paper runs these ablations at 1.3B.
    """

    warm_start_tokens: int = 0  # general-prose tokens trained once from the untrained model; every arm of 02-03
    # continues from that one checkpoint, as the paper's arms all continue DeepSeek-LLM 1.3B (§2.2); 0 = arms start
    # from the untrained model of their seed
    math_tokens: int = 150_000_000_000  # tokens of the math stage of every run (paper Tables 1, 6-8: 150B)
    first_stage_tokens: int = 400_000_000_000  # general or code stage before math, and the code share of the mix (paper: 400B)
    base_tokens: int = 0  # the study's base model (notebook 03, pretraining.base_arm): the code stage continued for
    # this many tokens of BASE_MIX, as DeepSeekMath-Base continues DeepSeek-Coder-Base (paper: 500B); 0 = the best arm
    batch_size: int = 512  # sequences of model.context_length per optimiser step (paper 1.3B runs: not given)
    micro_batch_size: int = 8  # sequences per forward/backward on one process; the rest is gradient accumulation
    lr: float = 0.0  # peak learning rate; 0 = the model size's derived LR (dsmath_lib.model.ModelSize.lr)
    warmup_steps: int = 2000  # linear warm-up to the peak (paper: 2,000 steps)
    decay_at: list[float] = field(default_factory=lambda: [0.8, 0.9])  # multi-step decay points, as shares of training (paper)
    decay_to: list[float] = field(default_factory=lambda: [0.316, 0.1])  # LR as shares of peak after each point (paper)
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])  # AdamW beta1, beta2 (paper)
    weight_decay: float = 0.1  # AdamW weight decay (paper)
    grad_clip: float = 1.0  # gradient-norm clipping (paper: not given; the usual 1.0)
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"  # accelerate's setting; CPUs train in float32
    accelerate_config: str = ""  # gpu/paper: an accelerate config file (DDP, FSDP, DeepSpeed) for `accelerate launch`,
    # named from the repository root (params/accelerate/fsdp.yaml): notebooks run in notebooks/
    checkpoint_every: int = 200  # optimiser steps between resumable checkpoints
    eval_points: int = 5  # learning-curve evaluations per run, evenly spaced in tokens (Figure 3)
    curve_problems: int = 100  # problems per benchmark at each learning-curve point
    eval_problems: int = 0  # problems per benchmark for the final tables; 0 = the whole test set
    code_problems: int = 0  # code-benchmark tasks for Tables 6-7 (HumanEval/MBPP analogue); 0 = all
    seeds: list[int] = field(default_factory=lambda: [0])  # seeds of the key comparisons (final vs seed-only corpus,
    # code-then-math vs math-only); other runs use the first


@dataclass
class SFTConfig:
    """Supervised fine-tuning (dsmath_lib.train, notebook 04: paper §3)."""

    source: str = "world"  # "world": the embedded world's train problems; else a local JSONL path or a hub dataset name
    formats: list[str] = field(default_factory=lambda: ["cot", "pot", "tool"])  # chain-of-thought, program-of-thought,
    # tool-integrated (paper §3: all three)
    format_shares: list[float] = field(default_factory=list)  # share of the world's problems written in each of
    # `formats` (aligned with it); [] = every problem in every format (paper: the mix of its 776K is not given)
    n_examples: int = 0  # examples used; 0 = all (paper: 776K)
    steps: int = 500  # optimiser steps (paper: 500)
    batch_size: int = 256  # packed sequences of model.context_length per step (paper: 256 of 4K)
    micro_batch_size: int = 8  # sequences per forward/backward on one process
    lr: float = 5e-5  # constant learning rate (paper: 5e-5 at 7B)
    warmup_steps: int = 0  # the paper's SFT LR is constant
    decay_at: list[float] = field(default_factory=list)  # multi-step decay points as shares of the run; [] = the
    # paper's constant LR
    decay_to: list[float] = field(default_factory=list)  # LR as shares of the constant one after each point
    weight_decay: float = 0.1  # AdamW as in pretraining (paper: not given for SFT)
    grad_clip: float = 1.0
    accelerate_config: str = ""  # as pretrain.accelerate_config, for 04's SFT run (a repository-root path; "" = one
    # process)
    eval_problems: int = 0  # problems per benchmark for 04's table; 0 = the whole test set


# grpo.preset: the four GRPOConfig fields that make a named GRPO variant, in one table. Fields given beside a
# preset override it; without a preset the fields' defaults are "grpo". Each field changes one visible line:
# scale_rewards in trainer.py (group_advantages), loss_normaliser and clip_eps_high in rl/grpo.py (grpo_loss),
# dynamic_sampling_rounds in trainer.py (collect).
GRPO_PRESETS: dict[str, dict[str, Any]] = {
    # the paper (§4): A = (r - mean) / std, (1/|o_i|) sum_t then the mean over outputs, symmetric clip
    "grpo": {"scale_rewards": True, "loss_normaliser": "seq", "clip_eps_high": None, "dynamic_sampling_rounds": 1},
    # Dr. GRPO (Liu et al. 2025): no std scaling, no 1/|o_i| (a constant max_len x N divides the token sum)
    "dr_grpo": {"scale_rewards": False, "loss_normaliser": "constant", "clip_eps_high": None,
                "dynamic_sampling_rounds": 1},
    # DAPO (Yu et al. 2025): clip-higher 0.28, token-level loss, dynamic sampling (3 rounds: DAPO's
    # max_num_gen_batches at our batch sizes)
    "dapo": {"scale_rewards": True, "loss_normaliser": "token", "clip_eps_high": 0.28, "dynamic_sampling_rounds": 3},
}
REMOVED_GRPO_KEYS = {  # old key: what replaced it (a params file still using one fails with this text)
    "loss_type": "use grpo.preset (" + " | ".join(GRPO_PRESETS) + ") or the fields it bundled: scale_rewards, "
                 "loss_normaliser, clip_eps_high, dynamic_sampling_rounds",
    "dapo_max_rounds": "use grpo.dynamic_sampling_rounds (1 = off; preset dapo sets 3), which no longer needs "
                       "the dapo variant",
}


@dataclass
class GRPOConfig:
    """Group Relative Policy Optimisation (dsmath_lib.rl, notebook 05: paper §4, docs/PAPER.md §5).

    In a params file `preset: grpo | dr_grpo | dapo` fills the four variant fields from GRPO_PRESETS; in code,
    GRPOConfig.from_preset("dapo", steps=3). `variant` names the result (run folders, progress bar, cards).
    """

    steps: int = 0  # policy-update batches (exploration stages); 0 = one pass over the RL questions
    questions_per_step: int = 16  # questions per batch (paper: batch 1024 outputs = 16 questions x G = 64)
    group_size: int = 64  # G, outputs sampled per question from the old policy (paper: 64)
    lr: float = 1e-6  # policy learning rate (paper: 1e-6), constant
    beta: float = 0.04  # beta, weight of the k3 KL to the reference model in the loss (paper: 0.04)
    clip_eps: float = 0.2  # epsilon of the clipped ratio (paper: not given; PPO's and trl's 0.2)
    # the variant (GRPO_PRESETS); the defaults are the paper's
    scale_rewards: bool = True  # A_i = (r_i - mean r) / std r (paper §4.1.2); False: r_i - mean r (Dr. GRPO)
    loss_normaliser: Literal["seq", "token", "constant"] = "seq"  # seq: (1/|o_i|) sum_t, then the mean over the
    # outputs (paper eq. 3); token: every token of the batch weighs the same (DAPO); constant: the token sum over
    # max_new_tokens x outputs (Dr. GRPO)
    clip_eps_high: float | None = None  # upper clip 1 + eps_high; None = clip_eps, symmetric as the paper (DAPO: 0.28)
    dynamic_sampling_rounds: int = 1  # 1 = off; > 1: DAPO's dynamic sampling, drop groups whose G rewards are all
    # equal and resample questions, up to this many rollout rounds per step (DAPO's max_num_gen_batches)
    updates_per_step: int = 1  # mu, policy updates per exploration stage (paper: 1)
    micro_batch_size: int = 16  # sequences per forward/backward in the update
    max_new_tokens: int = 1024  # longest sampled output (paper: 1024)
    temperature: float = 1.0  # rollout sampling temperature
    grad_clip: float = 1.0
    eval_every: int = 10  # steps between held-out accuracy evaluations (training curves)
    eval_problems: int = 0  # held-out problems per benchmark at each curve point and for Table 5; 0 = all
    rollout_engine: Literal["sampler", "vllm"] = "sampler"  # sampler: our batched KV-cache sampler; vllm: gpu/paper
    rollout_batch_size: int = 256  # sampler rows per batch: sampling.DEFAULT_BATCH_SIZE (bench_sampler.py); not a paper quantity

    @classmethod
    def expand(cls, raw: dict, section: str = "grpo") -> dict:
        """A grpo section with `preset` replaced by its fields; keys given beside it win. load_params calls
        this before checking keys; an unknown preset or a removed key raises ValueError saying what to use.

        >>> GRPOConfig.expand({"preset": "dapo", "dynamic_sampling_rounds": 1})
        {'scale_rewards': True, 'loss_normaliser': 'token', 'clip_eps_high': 0.28, 'dynamic_sampling_rounds': 1}
        """
        for old, new in REMOVED_GRPO_KEYS.items():
            if old in raw:
                raise ValueError(f"key '{section}.{old}' was removed: {new}")
        raw = dict(raw)
        name = raw.pop("preset", None)
        if name is None:
            return raw
        if name not in GRPO_PRESETS:
            raise ValueError(f"key '{section}.preset' = {name!r} is not one of {', '.join(GRPO_PRESETS)}")
        return {**GRPO_PRESETS[name], **raw}

    @classmethod
    def from_preset(cls, name: str, **fields) -> GRPOConfig:
        """The config of a named preset, with `fields` overriding it (the same rule as a params file)."""
        return cls(**cls.expand({"preset": name, **fields}))

    @property
    def variant(self) -> str:
        """The preset whose four fields these are, else the fields that make it (deterministic, path-safe).

        >>> GRPOConfig.from_preset("dr_grpo").variant, GRPOConfig(clip_eps_high=0.28).variant
        ('dr_grpo', 'seq-eps_high0.28')
        >>> GRPOConfig.from_preset("dapo", dynamic_sampling_rounds=1, scale_rewards=False).variant
        'token-unscaled-eps_high0.28'
        """
        fields = {key: getattr(self, key) for key in GRPO_PRESETS["grpo"]}
        for name, preset in GRPO_PRESETS.items():
            if fields == preset:
                return name
        parts = [self.loss_normaliser, "" if self.scale_rewards else "unscaled",
                 "" if self.clip_eps_high is None else f"eps_high{self.clip_eps_high:g}",
                 "" if self.dynamic_sampling_rounds == 1 else f"dynamic{self.dynamic_sampling_rounds}"]
        return "-".join(p for p in parts if p)


@dataclass
class RLAblationConfig:
    """The methods GRPO is compared with (dsmath_lib.rl.methods, rl.ppo_trainer; notebook 06: paper §4.1.3-4.1.4,
    §5.2, Table 10, Figures 5-6). The shared loop settings (questions_per_step, G, beta, clip_eps, max_new_tokens,
    ...) are GRPOConfig's; `steps`, `lr`, `eval_every` and `eval_problems` here override grpo's for every method,
    so the curves of Figure 5 share one x axis and one held-out set.
    """

    steps: int = 0  # policy-update steps of every method's run (Figure 5's x axis); 0 = grpo.steps
    lr: float = 0.0  # policy learning rate of every method; 0 = grpo.lr (paper: 1e-6 for GRPO; Figure 5 at 1.3B)
    eval_every: int = 0  # held-out evaluation every this many steps of every run; 0 = grpo.eval_every
    eval_problems: int = 0  # held-out problems per benchmark for Figures 5-6; 0 = grpo.eval_problems
    rft_samples: int = 0  # RFT (offline): outputs sampled once per RL question from the SFT model; 0 = grpo.group_size
    rft_batch_size: int = 0  # RFT: correct samples per step; 0 = questions_per_step x group_size (GRPO's batch)
    dpo_beta: float = 0.1  # beta of the DPO loss (paper appendix A.1.4: not given; DPO's and trl's 0.1)
    dpo_pairs_per_question: int = 1  # (o+, o-) pairs taken from each question's SFT samples (paper: not given)
    dpo_batch_size: int = 0  # pairs per step; 0 = questions_per_step x group_size / 2 (GRPO's outputs per step)
    prm_lr: float = 2e-5  # the process reward model's learning rate (paper §4.2: 2e-5)
    prm_questions: int = 32  # questions whose sampled solutions are step-labelled per PRM training round
    prm_samples: int = 4  # solutions sampled per such question (paper: not given)
    prm_completions: int = 8  # N, Math-Shepherd completions per step prefix (Math-Shepherd: 8)
    prm_estimate: Literal["hard", "soft"] = "hard"  # Math-Shepherd's hard (any completion right) or soft (share)
    prm_epochs: int = 2  # passes over the step-labelled data per PRM round (paper: not given)
    prm_batch_size: int = 8  # solutions per PRM step (paper: not given)
    ppo_gamma: float = 1.0  # gamma, GAE discount (paper §4.1.1: not given; 1.0, trl's PPO default)
    ppo_lam: float = 0.95  # lambda, GAE trace decay (paper: not given; trl's 0.95)
    ppo_value_clip: float = 0.2  # the value loss's clip range around V_old (paper: not given; trl's 0.2)
    ppo_vf_coef: float = 0.1  # weight of the value loss beside the policy loss (paper: not given; trl's 0.1)
    ppo_value_lr: float = 0.0  # the value model's learning rate; 0 = the policy's (paper: not given)
    iterative_rounds: int = 2  # rounds of iterative RL (paper Algorithm 1, Figure 6: 2 rounds)
    replay_share: float = 0.1  # share of historical PRM data replayed in each new round (paper Algorithm 1: 10%)


@dataclass
class Params:
    """Everything one scale needs. `source` and `digest` are filled by `load_params`, not read from YAML."""

    scale: Literal["smoke", "real-smoke", "tiny", "gpu", "paper"]
    seed: int = 0  # seed for training and sampling (the world has its own, world.seed)
    world: WorldConfig = field(default_factory=WorldConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    mining: MiningConfig = field(default_factory=MiningConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    rl_ablation: RLAblationConfig = field(default_factory=RLAblationConfig)
    source: str = field(default="", metadata={"derived": True})

    def section_digest(self, *sections: str) -> str:
        """A short hash of the named sections (all when none are named): what a notebook's cache keys on."""
        names = sections or tuple(f.name for f in _yaml_fields(Params))
        blob = {name: _to_plain(getattr(self, name)) for name in sorted(names)}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {f.name: _to_plain(getattr(self, f.name)) for f in _yaml_fields(Params)}


def load_params(path: str | Path) -> Params:
    """Read and validate a params YAML file. Raises ParamsError naming the file and the offending key."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (scales: {', '.join(SCALES)})")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    params = _build(Params, raw, str(path), prefix="")
    if params.eval.pretrained and params.eval.pretrained == params.model.pretrained:
        raise ParamsError(f"{path}: eval.pretrained names model.pretrained, which notebook 07 already evaluates as "
                          "checkpoints/init (00 saves it there); leave eval.pretrained empty or name another model")
    params.source = str(path)
    return params


def params_path(scale: str, params_dir: str | Path | None = None) -> Path:
    """params/<scale>.yaml, checked against the known scales."""
    if scale not in SCALES:
        raise ParamsError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    from dsmath_lib.paths import PARAMS_DIR

    return Path(params_dir or PARAMS_DIR) / f"{scale}.yaml"


def _yaml_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("derived")]


def _build(cls, raw: dict, file: str, prefix: str):
    if hasattr(cls, "expand"):  # a section with shorthand keys that stand for several fields (grpo.preset)
        try:
            raw = cls.expand(raw, prefix.rstrip("."))
        except ValueError as err:
            raise ParamsError(f"{file}: {err}") from err
    fields = {f.name: f for f in _yaml_fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        key = prefix + str(unknown[0])
        raise ParamsError(f"{file}: unknown key '{key}' (known in this section: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, f in fields.items():
        key = prefix + name
        if name in raw:
            kwargs[name] = _check(hints[name], raw[name], file, key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ParamsError(f"{file}: missing required key '{key}'")
    return cls(**kwargs)


def _check(tp, value: Any, file: str, key: str):
    """Return `value` converted to type `tp`, or raise ParamsError naming the key."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ParamsError(f"{file}: key '{key}' must be a mapping, got {value!r}")
        return _build(tp, value, file, prefix=key + ".")
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            if option is type(None) and value is None:
                return None
            try:
                return _check(option, value, file, key)
            except ParamsError as err:
                errors.append(str(err))
        raise ParamsError(f"{file}: key '{key}' = {value!r} matches none of {tp}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            choices = ", ".join(repr(a) for a in typing.get_args(tp))
            raise ParamsError(f"{file}: key '{key}' = {value!r} is not one of {choices}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{file}: key '{key}' must be a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_check(item, v, file, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{file}: key '{key}' must be a mapping, got {value!r}")
        _, item = typing.get_args(tp)
        return {str(k): _check(item, v, file, f"{key}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
            return value
        raise ParamsError(f"{file}: key '{key}' must be {tp.__name__}, got {type(value).__name__} {value!r}")
    raise TypeError(f"config field type {tp} for '{key}' is not supported by the loader")


def _to_plain(obj):
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in _yaml_fields(type(obj))}
    if isinstance(obj, list):
        return [_to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    return obj
