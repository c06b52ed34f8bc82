"""Pretraining ablations (notebooks 02 and 03): arms of one or two stages over named corpora, per seed.

    from dsmath_lib import ablation
    packed = ablation.pack_corpora(corpus_files, tokenizer, params.model.context_length, artifacts / "packed")
    arms = ablation.corpus_arms(params.pretrain)              # Table 1; staging_arms(...) for Tables 6-8
    arm = ablation.arms_by_key(arms)                          # arm["final"].name: arms are picked by key
    runs = ablation.run_arms(arms, packed, params, artifacts) # {(arm, seed): final checkpoint folder}
    spec = EvalSpec.from_params(params, benchmarks, shots, modes=("cot-fewshot",), nll=True)   # eval.evaluate
    scores = ablation.score_runs(runs, spec, artifacts / "evals")   # Records (eval.records) + arm, seed
    ablation.results_table(scores, ablation.TABLE1_ROWS, TABLE1)
    verdicts = ablation.judge(scores, findings)              # each claim per measure, from a paired interval
    print(ablation.findings_conclusion(verdicts, table1))    # the notebook's conclusion, read from both tables

An arm is a list of stages; a stage trains on a mixture of packed corpora for a number of tokens with the
paper's optimiser and schedule (AdamW 0.9/0.95, wd 0.1, warm-up then steps to 31.6% and 10% of peak), and
starts from the previous stage's checkpoint (the first from the shared warm start, `warm_start`, or without
one from the untrained model of the run's seed). A
stage's output folder is named by a hash of everything that determines it (start checkpoint, data, tokens,
optimiser, seed), so a stage two arms share is trained once: 03's "math only" is 02's "final corpus" run,
03's first "general" stage is 02's "no math training" run when the token budgets are equal, and a rerun of
a notebook finds every finished stage on disk (dsmath_lib.train resumes an interrupted one).

Scores are per problem (eval.evaluate's records, cached in artifacts/<scale>/evals by checkpoint content);
a table cell is the mean over problems of the seed-averaged score, with a 95% bootstrap interval over
problems, and `paired_difference` gives the interval of a difference between two arms on the same problems,
which is what tells an effect from noise (both from eval.intervals, as every table of the study).

Departures from the paper at small scale: token budgets of ~10^5-10^6 tokens instead of 150B / 400B, the
first stage no longer than the math stage (the paper's 400B : 150B would triple the hour's budget), a 1M-
parameter model from scratch instead of 1.3B, our world's corpora and benchmarks instead of the web's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from dsmath_lib.config import Params, PretrainConfig
from dsmath_lib.eval.evaluate import EvalSpec, evaluate
from dsmath_lib.eval.intervals import format_interval, parse_interval, seed_averaged, seed_averaged_interval
from dsmath_lib.eval.intervals import paired_difference as paired_interval
from dsmath_lib.eval.records import CODE, NLL
from dsmath_lib.eval.tables import PAPER_COLUMN

SCORE_COLUMNS = ["benchmark", "mode", "id", "level", "score", "arm", "seed"]  # the scores CSV of 02 and 03


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


def staging_arms(cfg: PretrainConfig) -> list[Arm]:
    """Tables 6-8: general or code first, then math; math only; code and math mixed; arXiv only."""
    key, rest = tuple(cfg.seeds), tuple(cfg.seeds[:1])
    first, math = cfg.first_stage_tokens, cfg.math_tokens
    general, code = Stage((("general", first),)), Stage((("python", first),))
    final = Stage((("final", math),))
    return [Arm("no continual training (general only)", (general,), "No Continual Training", rest, "general_only"),
            Arm("general, then math", (general, final), "General 400B, then Math 150B", rest, "general_then_math"),
            Arm("code, then math", (code, final), "Code 400B, then Math 150B", key, "code_then_math"),
            Arm("math only", (final,), "One stage: Math 150B", key, "math_only"),
            Arm("code + math mixed", (Stage((("python", first), ("final", math))),),
                "One stage: Code 400B + Math 150B", rest, "code_math_mixed"),
            Arm("arXiv only", (Stage((("arxiv", math),)),), "arXiv only", rest, "arxiv_only")]


# ------------------------------------------------------------------------------------------------ data
def pack_corpora(files: Mapping[str, Path], tokenizer, length: int, folder: Path) -> dict[str, Path]:
    """Tokenize and pack each corpus JSONL ({url, text, ...} per line) into rows of `length` tokens under
    folder/<name>; a corpus whose file and tokenizer are unchanged since the last packing is not redone."""
    from dsmath_lib.corpus.inputs import read_corpus
    from dsmath_lib.train import pack_documents, read_packed, write_packed

    out = {}
    for name, path in tqdm(files.items(), desc="packing corpora"):
        source = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] + f"/{len(tokenizer)}/{length}"
        target = Path(folder) / f"{name}.npy"
        try:
            if read_packed(target).source == source:
                out[name] = target
                continue
        except (FileNotFoundError, ValueError):
            pass
        texts = [page.text for page in read_corpus(path)]
        if not texts:
            raise ValueError(f"{path}: corpus '{name}' is empty; rerun the notebook that writes it")
        docs = tokenizer(texts)["input_ids"]
        write_packed(target, pack_documents(docs, length, tokenizer.eos_token_id), source=source)
        out[name] = target
    return out


def corpus_sizes(packed: Mapping[str, Path]) -> pd.DataFrame:
    """Rows and tokens of every packed corpus."""
    from dsmath_lib.train import read_packed

    rows = []
    for name, path in packed.items():
        data = read_packed(path)
        rows.append({"corpus": name, "rows": data.rows, "tokens": data.tokens})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ runs
def init_checkpoint(params: Params, seed: int, artifacts: Path) -> Path:
    """Where the runs of `seed` start without a warm start: notebook 00's checkpoints/init, or for a seed other
    than params.seed the untrained model of that seed (built once, in runs/init-seed<seed>).

    With model.pretrained, 00 saves the pretrained model itself as checkpoints/init (with rows for our special
    tokens) and every seed starts from it, a seed then setting only the data order, as with a warm start. Runs
    start from that local snapshot rather than from the hub name because a run folder is named by its spec's
    digest, which hashes `init`: a hub name (or a path to someone's cache) can change its bytes under a finished
    run (a new revision), while the snapshot's bytes are fixed once 00 wrote them, and it holds our tokenizer,
    which the hub's lacks. Its card names the model it was made from, so a changed model.pretrained is an error
    here rather than a silent reuse of runs from the old model.
    """
    from dsmath_lib.model import build_model, read_card, save_model
    from dsmath_lib.tokenizer import load_tokenizer

    init = artifacts / "checkpoints" / "init"
    if not (init / "config.json").is_file():
        raise FileNotFoundError(f"{init}: missing; run notebook 00_world first")
    made_from = read_card(init).get("pretrained", "")
    if made_from != params.model.pretrained:
        raise ValueError(f"{init} was made from model.pretrained={made_from!r} but {params.source or 'the params'} "
                         f"says {params.model.pretrained!r}; rerun notebook 00_world")
    if seed == params.seed or params.model.pretrained:
        return init
    path = artifacts / "runs" / f"init-seed{seed}"
    if not (path / "config.json").is_file():
        tokenizer = load_tokenizer(init)
        model = build_model(params.model, tokenizer, seed=seed)
        save_model(model, tokenizer, path, card={"name": f"init-seed{seed}", "stage": "init",
                                                 "description": f"untrained, seed {seed}"})
    return path


def warm_start(params: Params, packed: Mapping[str, Path], artifacts: Path, tracker=None) -> Path | None:
    """The shared warm start: params.pretrain.warm_start_tokens of general prose from notebook 00's untrained
    model, trained once (its run folder is named by digest, so 03 finds 02's); None when the budget is 0."""
    from dsmath_lib.train import run

    tokens = params.pretrain.warm_start_tokens
    if tokens <= 0:
        return None
    stage = Stage((("general", tokens),))
    spec = stage_spec(stage, init_checkpoint(params, params.seed, artifacts), params.seed, packed, params,
                      artifacts / "runs", label="warm start")
    spec.curve_points = 0
    spec.out = str(artifacts / "runs" / f"warm-start-{spec.digest()[:12]}")
    return Path(run(spec, accelerate_config=params.pretrain.accelerate_config, tracker=tracker).checkpoint)


def stage_spec(stage: Stage, start: Path, seed: int, packed: Mapping[str, Path], params: Params, runs_dir: Path,
               label: str = ""):
    """The TrainSpec of one stage, in a folder named by its corpora, seed and spec digest. The card says only
    what the stage is (not which arm or notebook asked for it), so two arms sharing a stage share one run."""
    from dsmath_lib.train import pretrain_spec

    missing = [name for name, _ in stage.sources if name not in packed]
    if missing:
        raise KeyError(f"stage needs corpora {missing}; packed: {sorted(packed)}")
    names = "+".join(n for n, _ in stage.sources)
    card = {"name": label or f"{names} seed {seed}", "stage": "base",
            "description": " + ".join(f"{n} {t:,} tokens" for n, t in stage.sources) + f" from {Path(start).name}"}
    spec = pretrain_spec(params.pretrain, params.model, init=start, out="", data=[packed[n] for n, _ in stage.sources],
                         tokens=stage.tokens, weights=[n / stage.tokens for _, n in stage.sources], seed=seed, card=card)
    spec.out = str(runs_dir / f"{names}-seed{seed}-{spec.digest()[:12]}")
    return spec


def run_arms(arms: Sequence[Arm], packed: Mapping[str, Path], params: Params, artifacts: Path,
             tracker=None) -> dict[tuple[str, int], list[Path]]:
    """Train every arm for each of its seeds; {(arm name, seed): [final checkpoint of each stage]}. With a warm
    start, every arm and seed continues from it (a seed then sets the data order); without, from the untrained
    model of its seed."""
    from dsmath_lib.train import run

    shared = warm_start(params, packed, artifacts, tracker)
    out: dict[tuple[str, int], list[Path]] = {}
    for arm in arms:
        for seed in arm.seeds:
            start, done = shared or init_checkpoint(params, seed, artifacts), []
            for stage in arm.stages:
                spec = stage_spec(stage, start, seed, packed, params, artifacts / "runs")
                start = Path(run(spec, accelerate_config=params.pretrain.accelerate_config, tracker=tracker).checkpoint)
                done.append(start)
            out[(arm.name, seed)] = done
    return out


def curve_checkpoints(checkpoint: Path) -> list[tuple[int, Path]]:
    """(tokens, folder) of the learning-curve checkpoints saved beside a run's final checkpoint
    (<run>/final and <run>/curve/<tokens>/)."""
    curve = Path(checkpoint).parent / "curve"
    found = [(int(p.name), p) for p in curve.iterdir() if p.name.isdigit()] if curve.is_dir() else []
    return sorted(found)


# ------------------------------------------------------------------------------------------------ scores
def score_runs(runs: Mapping[tuple[str, int], list[Path]], spec: EvalSpec, cache_dir: Path | None) -> pd.DataFrame:
    """eval.evaluate of `spec` on the final checkpoint of every run: its Records plus arm and seed, one row each."""
    frames = []
    for (arm, seed), stages in tqdm(runs.items(), desc="scoring runs"):
        records = evaluate(stages[-1], spec, cache_dir, name=Path(stages[-1]).parent.name)
        frames.append(pd.DataFrame(records).assign(arm=arm, seed=seed))
    return pd.concat(frames, ignore_index=True)


def score_curves(runs: Mapping[tuple[str, int], list[Path]], spec: EvalSpec, cache_dir: Path | None) -> pd.DataFrame:
    """The measures of `spec` at every learning-curve point of every run's last stage, plus `tokens`
    (counted over all stages, so a two-stage arm's curve starts where its first stage ended)."""
    from dsmath_lib.model import read_card

    frames = []
    for (arm, seed), stages in tqdm(runs.items(), desc="scoring curves"):
        before = sum(int(read_card(s).get("tokens", 0)) for s in stages[:-1])
        for tokens, folder in curve_checkpoints(stages[-1]):
            records = evaluate(folder, spec, cache_dir, name=f"{Path(stages[-1]).parent.name}@{tokens}")
            frames.append(pd.DataFrame(records).assign(arm=arm, seed=seed, tokens=before + tokens))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def measure_name(benchmark: str, mode: str) -> str:
    """The paper's column a (benchmark, mode) measure stands beside.

    >>> measure_name("synth-gsm", "cot-fewshot"), measure_name("synth-math", "pot"), measure_name("synth-gsm", "nll")
    ('GSM8K', 'MATH+Python', 'GSM8K NLL')
    """
    if mode == CODE:
        return "code pass@1"
    column = PAPER_COLUMN.get(benchmark, benchmark)
    return {"cot-fewshot": column, "pot": f"{column}+Python", NLL: f"{column} NLL"}.get(mode, f"{column} {mode}")


def results_table(scores: pd.DataFrame, arms: Sequence[Arm], paper: Mapping[str, Mapping[str, float]],
                  seed: int = 0) -> pd.DataFrame:
    """One row per arm: each measure as 'mean [low, high]' (accuracy in %, NLL in nats/token), the seeds it
    averages, and the paper's value of the same column beside it ('-' when the paper has no such row)."""
    rows = []
    for arm in arms:
        mine = scores[scores["arm"] == arm.name]
        row = {"setting": arm.name, "seeds": ", ".join(str(s) for s in sorted(mine["seed"].unique())),
               "paper row": arm.paper_row or "-"}
        for (benchmark, mode), part in mine.groupby(["benchmark", "mode"], sort=False):
            name, scale = measure_name(benchmark, mode), (1.0 if mode == NLL else 100.0)
            mean, lo, hi, _ = seed_averaged_interval(part, seed)
            row[f"{name} (ours)"] = format_interval(mean, lo, hi, scale)
            paper_key = {"code pass@1": "HumanEval"}.get(name, name)
            if mode != NLL:
                value = paper.get(arm.paper_row, {}).get(paper_key)
                row[f"{name} (paper)"] = "-" if value is None else f"{value:.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def paired_difference(scores: pd.DataFrame, a: str, b: str, seed: int = 0) -> pd.DataFrame:
    """Arm a minus arm b on the problems both saw, per measure: the difference of seed-averaged per-problem
    scores, with a 95% paired bootstrap interval (eval.intervals); 'resolved' when the interval excludes 0."""
    rows = []
    for (benchmark, mode), part in scores.groupby(["benchmark", "mode"], sort=False):
        arms = set(part["arm"])
        if a not in arms or b not in arms:
            continue
        d = paired_interval(seed_averaged(part[part["arm"] == a]), seed_averaged(part[part["arm"] == b]), seed)
        scale = 1.0 if mode == NLL else 100.0
        rows.append({"measure": measure_name(benchmark, mode), "comparison": f"{a} minus {b}",
                     "difference": round(scale * d.mean, 2), "ci_low": round(scale * d.ci_low, 2),
                     "ci_high": round(scale * d.ci_high, 2), "problems": d.problems, "resolved": d.resolved})
    return pd.DataFrame(rows)


def seed_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Each arm's mean per measure for every seed separately: how far seeds alone move a number."""
    frame = scores.assign(measure=[measure_name(b, m) for b, m in zip(scores["benchmark"], scores["mode"])])
    table = frame.groupby(["arm", "seed", "measure"], sort=False)["score"].mean().unstack("measure")
    return table.reset_index()


def curve_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Learning curves in long form: arm, tokens, measure, mean over seeds and problems."""
    if curves.empty:
        return pd.DataFrame(columns=["arm", "tokens", "measure", "value"])
    frame = curves.assign(measure=[measure_name(b, m) for b, m in zip(curves["benchmark"], curves["mode"])])
    return frame.groupby(["arm", "tokens", "measure"], sort=False)["score"].mean().rename("value").reset_index()


def plot_curves(table: pd.DataFrame):
    """Figure 3's layout: one panel per measure, one line per arm, against training tokens."""
    import matplotlib.pyplot as plt

    measures = list(dict.fromkeys(table["measure"])) or ["(no curve points)"]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.5 * len(measures), 3.6), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        part = table[table["measure"] == measure]
        scale = 1.0 if measure.endswith("NLL") else 100.0
        for i, (arm, line) in enumerate(part.groupby("arm", sort=False)):
            ax.plot(line["tokens"], scale * line["value"], "-o", ms=3, color=f"C{i}", label=arm)
        ax.set(title=measure, xlabel="training tokens",
               ylabel="nats / token" if scale == 1.0 else "accuracy (%)")
        if len(part):
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def mean_of(scores: pd.DataFrame, arm: str, measure: str) -> float:
    """One arm's seed- and problem-averaged value of a measure (as a fraction; NLL in nats)."""
    frame = scores[scores["arm"] == arm]
    keep = [measure_name(b, m) == measure for b, m in zip(frame["benchmark"], frame["mode"])]
    return float(np.mean(frame[keep]["score"])) if any(keep) else float("nan")


# ------------------------------------------------------------------------------------------------ findings
@dataclass(frozen=True)
class Finding:
    """A claim of the paper as a comparison: arm `better` scores above arm `worse` on `measures`."""

    claim: str
    better: str
    worse: str
    measures: tuple[str, ...]


def judge(scores: pd.DataFrame, findings: Sequence[Finding], seed: int = 0) -> pd.DataFrame:
    """Each finding on each of its measures, read from a paired bootstrap: 'reproduced' when the interval of
    (better - worse) lies above 0 (for NLL, lower is better, so the sign flips), 'reversed' when it lies below,
    'not resolved' when it spans 0. The verdict is measured, never written by hand."""
    rows = []
    for finding in findings:
        diffs = paired_difference(scores, finding.better, finding.worse, seed=seed)
        for measure in finding.measures:
            match = diffs[diffs["measure"] == measure] if len(diffs) else diffs
            if match.empty:
                continue
            d = match.iloc[0]
            sign = -1.0 if measure.endswith("NLL") else 1.0
            lo, hi = sorted((sign * d["ci_low"], sign * d["ci_high"]))
            verdict = "reproduced" if lo > 0 else "reversed" if hi < 0 else "not resolved"
            rows.append({"claim": finding.claim, "measure": measure, "gain": round(sign * d["difference"], 2),
                         "ci_low": lo, "ci_high": hi, "verdict": verdict})
    return pd.DataFrame(rows, columns=["claim", "measure", "gain", "ci_low", "ci_high", "verdict"])


VERDICT_WORDS = {"reproduced": "the interval of the gain lies above 0",
                 "reversed": "the interval lies below 0: the opposite holds here",
                 "not resolved": "the interval spans 0: no difference told from noise",
                 "no spread": "both score the same on every problem: the measure cannot tell them apart"}


def _gain_text(row: Mapping) -> str:
    unit = "nats/token" if str(row["measure"]).endswith("NLL") else "points"
    return f"{row['measure']} {row['gain']:+.2f} {unit} [95% CI {row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"


def _accuracy_range(table: pd.DataFrame) -> str:
    """One sentence: the lowest and highest accuracy cell of a results_table, with setting and measure."""
    table = table.drop_duplicates("setting")
    columns = [c for c in table.columns if c.endswith(" (ours)") and not c.endswith(" NLL (ours)")]
    cells = [(parse_interval(v)[0], s, c[: -len(" (ours)")]) for c in columns for s, v in zip(table["setting"], table[c])]
    cells = [c for c in cells if c[0] == c[0]]  # drop NaN ('-')
    if not cells:
        return "The table has no accuracy column."
    (lo, lo_s, lo_m), (hi, hi_s, hi_m) = min(cells), max(cells)
    return (f"Accuracy across the {len(table)} settings ranges from {lo:.1f}% ({lo_s}, {lo_m}) "
            f"to {hi:.1f}% ({hi_s}, {hi_m}).")


def findings_conclusion(verdicts: pd.DataFrame, table: pd.DataFrame) -> str:
    """The notebook's conclusion as markdown, read from judge's verdicts and a results_table: one bullet per
    claim (its verdicts, each measure's gain with its 95% interval; points of accuracy, nats/token of NLL
    with the sign turned so that positive is better) and one sentence on the range of accuracy in the table.

    >>> verdicts = pd.DataFrame({"claim": ["a beats b"] * 2, "measure": ["GSM8K", "GSM8K NLL"], "gain": [1.5, 0.4],
    ...                          "ci_low": [-1.0, 0.2], "ci_high": [4.0, 0.6], "verdict": ["not resolved", "reproduced"]})
    >>> table = pd.DataFrame({"setting": ["a", "b"], "GSM8K (ours)": ["3.0 [1.0, 5.0]", "1.5 [0.0, 3.0]"],
    ...                       "GSM8K NLL (ours)": ["2.1 [2.0, 2.2]", "2.5 [2.4, 2.6]"]})
    >>> print(findings_conclusion(verdicts, table))
    - **a beats b**: reproduced on GSM8K NLL +0.40 nats/token [95% CI +0.20, +0.60] (the interval of the gain lies above 0); not resolved on GSM8K +1.50 points [95% CI -1.00, +4.00] (the interval spans 0: no difference told from noise).
    - Accuracy across the 2 settings ranges from 1.5% (b, GSM8K) to 3.0% (a, GSM8K).
    >>> flat = pd.DataFrame({"claim": ["c beats d"], "measure": ["code pass@1"], "gain": [0.0], "ci_low": [0.0],
    ...                      "ci_high": [0.0], "verdict": ["not resolved"]})
    >>> print(findings_conclusion(flat, table).splitlines()[0])
    - **c beats d**: not resolved on code pass@1 (both score the same on every problem: the measure cannot tell them apart).
    """
    lines = []
    for claim, rows in verdicts.groupby("claim", sort=False):
        parts = []
        flat = (rows["ci_low"] == 0) & (rows["ci_high"] == 0)  # e.g. both arms at 0% on every problem
        for verdict in ("reproduced", "reversed", "not resolved", "no spread"):
            part = rows[flat] if verdict == "no spread" else rows[(rows["verdict"] == verdict) & ~flat]
            if len(part) and verdict == "no spread":
                parts.append(f"not resolved on {' and '.join(part['measure'])} ({VERDICT_WORDS[verdict]})")
            elif len(part):
                gains = " and ".join(_gain_text(r) for r in part.to_dict("records"))
                parts.append(f"{verdict} on {gains} ({VERDICT_WORDS[verdict]})")
        lines.append(f"- **{claim}**: " + "; ".join(parts) + ".")
    lines.append(f"- {_accuracy_range(table)}")
    return "\n".join(lines)


def publish_base(scores: pd.DataFrame, runs: Mapping[tuple[str, int], list[Path]], measures: Sequence[str],
                 target: Path, notebook: str) -> tuple[str, Path]:
    """Copy the final checkpoint of the arm with the best mean over `measures` (its first seed) to `target`
    as the study's base model (card stage "base"); returns (arm name, target). Ties go to the earlier arm."""
    from dsmath_lib.model import copy_checkpoint

    arms = list(dict.fromkeys(arm for arm, _ in runs))
    means = {arm: float(np.mean([mean_of(scores, arm, m) for m in measures])) for arm in arms}
    best = max(arms, key=lambda a: means[a])
    seed = min(s for a, s in runs if a == best)
    card = {"name": "base", "notebook": notebook, "stage": "base",
            "description": f"best base model of {notebook}: {best}, seed {seed}"}
    return best, copy_checkpoint(runs[(best, seed)][-1], target, card)
