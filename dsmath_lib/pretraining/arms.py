"""The arms of the pretraining ablations: which corpora each row of Tables 1 and 6-8 trains on, in which stages.

    from dsmath_lib.pretraining import corpus_arms, staging_arms, arms_by_key
    arms = corpus_arms(params.pretrain)      # Table 1 (notebook 02); staging_arms(...) for Tables 6-8 (03)
    arm = arms_by_key(arms)                  # arm["final"].name: notebooks pick arms by key, never by position
    base = base_arm(params.pretrain)         # the study's base model (DeepSeekMath-Base analogue), or None

An arm is a list of stages; a stage is (corpus name, tokens) pairs mixed by tokens. Pure data: running the
arms is pretraining.runs, scoring them pretraining.scores.

Departures from the paper at small scale: the token budgets (cfg.math_tokens, cfg.first_stage_tokens) are
~10^5-10^6 tokens instead of 150B / 400B, and the first stage is no longer than the math stage; the base
model's run (cfg.base_tokens, paper: 500B) is a few million.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dsmath_lib.config import BASE_MIX, PretrainConfig


@dataclass(frozen=True)
class Stage:
    """One training stage: (corpus name, tokens of it) pairs, mixed by tokens and shuffled together."""

    sources: tuple[tuple[str, int], ...]

    @property
    def tokens(self) -> int:
        return sum(n for _, n in self.sources)


@dataclass(frozen=True)
class Arm:
    """A row of a table: its stages, the paper's row it stands beside, and the seeds it runs with."""

    name: str
    stages: tuple[Stage, ...]
    paper_row: str = ""  # the paper's row label ("" when the paper has no such row)
    seeds: tuple[int, ...] = (0,)
    key: str = ""  # a short identifier notebooks pick the arm by (arms_by_key), so they never index by position


def arms_by_key(arms: Sequence[Arm]) -> dict[str, Arm]:
    """{arm.key: arm}: how notebooks name the arms they compare.

    >>> sorted(arms_by_key(corpus_arms(PretrainConfig())))
    ['final', 'general', 'iteration_1', 'seed_only']
    """
    keys = [a.key for a in arms]
    if "" in keys or len(set(keys)) != len(keys):
        raise ValueError(f"arms_by_key: every arm needs its own key, got {keys}")
    return {a.key: a for a in arms}


def corpus_arms(cfg: PretrainConfig) -> list[Arm]:
    """Table 1: one model per corpus of notebook 01, the same math-token budget each."""
    key, rest = tuple(cfg.seeds), tuple(cfg.seeds[:1])

    def one(corpus: str) -> tuple[Stage]:
        return (Stage(((corpus, cfg.math_tokens),)),)

    return [Arm("no math training (general prose)", one("general"), "No Math Training", rest, "general"),
            Arm("seed only (OpenWebMath analogue)", one("seed_only"), "OpenWebMath (13.6B)", key, "seed_only"),
            Arm("mined, iteration 1", one("iteration_1"), "", rest, "iteration_1"),
            Arm("mined, final (DeepSeekMath Corpus analogue)", one("final"), "DeepSeekMath Corpus (120.2B)", key,
                "final")]


def code_stage(cfg: PretrainConfig) -> Stage:
    """The code stage (DeepSeek-Coder-Base's analogue) that "code, then math" and the base model both start with:
    one stage, so one run trained once."""
    return Stage((("python", cfg.first_stage_tokens),))


def staging_arms(cfg: PretrainConfig) -> list[Arm]:
    """Tables 6-8: general or code first, then math; math only; code and math mixed; arXiv only."""
    key, rest = tuple(cfg.seeds), tuple(cfg.seeds[:1])
    first, math = cfg.first_stage_tokens, cfg.math_tokens
    general, code = Stage((("general", first),)), code_stage(cfg)
    final = Stage((("final", math),))
    return [Arm("no continual training (general only)", (general,), "No Continual Training", rest, "general_only"),
            Arm("general, then math", (general, final), "General 400B, then Math 150B", rest, "general_then_math"),
            Arm("code, then math", (code, final), "Code 400B, then Math 150B", key, "code_then_math"),
            Arm("math only", (final,), "One stage: Math 150B", key, "math_only"),
            Arm("code + math mixed", (Stage((("python", first), ("final", math))),),
                "One stage: Code 400B + Math 150B", rest, "code_math_mixed"),
            Arm("arXiv only", (Stage((("arxiv", math),)),), "arXiv only", rest, "arxiv_only")]


def base_arm(cfg: PretrainConfig) -> Arm | None:
    """The study's base model, DeepSeekMath-Base's analogue (paper §2.3): the code stage of "code, then math"
    (DeepSeek-Coder-Base's analogue; the same run, trained once) continued for cfg.base_tokens on the paper's
    base mix (config.BASE_MIX); None when cfg.base_tokens is 0 (the best staging arm is the base then).

    >>> [list(s.sources) for s in base_arm(PretrainConfig(first_stage_tokens=10, base_tokens=100)).stages]
    [[('python', 10)], [('final', 60), ('python', 20), ('arxiv', 10), ('general', 10)]]
    """
    if cfg.base_tokens <= 0:
        return None
    shares = list(BASE_MIX.items())
    tokens = [round(cfg.base_tokens * share) for _, share in shares]
    tokens[0] += cfg.base_tokens - sum(tokens)  # rounding goes to the math corpus
    mix = Stage(tuple((name, n) for (name, _), n in zip(shares, tokens)))
    return Arm("DeepSeekMath-Base analogue (code, then the base mix)", (code_stage(cfg), mix), "DeepSeekMath-Base 7B",
               tuple(cfg.seeds[:1]), "base")
