"""The pretraining ablations' findings: each claim of the paper judged from a paired interval, the notebook's
conclusion read from the verdicts, and the best arm published as the study's base model.

    from dsmath_lib.pretraining import Finding, judge, findings_conclusion, publish_base
    findings = [Finding("final beats seed only", arm["final"].name, arm["seed_only"].name, ("GSM8K",))]
    verdicts = judge(scores, findings)                   # each claim per measure, from a paired interval
    print(findings_conclusion(verdicts, table1))         # the notebook's conclusion, read from both
    best, base = publish_base(scores, runs, ("GSM8K",), artifacts / "checkpoints" / "base", "02_corpus_ablations")

A verdict is measured, never written by hand: "reproduced" when the 95% paired interval of the gain lies
above 0, "reversed" below, "not resolved" when it spans 0. Departure from the paper: the paper reports
single numbers; at our scale most differences need the interval to be told from noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dsmath_lib.eval.intervals import parse_interval
from dsmath_lib.pretraining.scores import mean_of, paired_difference


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
            "description": f"base model of {notebook}: {best}, seed {seed}"}
    return best, copy_checkpoint(runs[(best, seed)][-1], target, card)
