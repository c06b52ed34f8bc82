"""Pretraining ablations (notebooks 02 and 03, paper §2.2-2.3 and §5.1.1): arms of one or two stages over
named corpora, per seed; their scores, tables and verdicts.

    from dsmath_lib import pretraining
    packed = pretraining.pack_corpora(corpus_files, tokenizer, params.model.context_length, artifacts / "packed")
    arms = pretraining.corpus_arms(params.pretrain)              # Table 1; staging_arms(...) for Tables 6-8
    arm = pretraining.arms_by_key(arms)                          # arm["final"].name: arms are picked by key
    runs = pretraining.run_arms(arms, packed, params, artifacts) # {(arm, seed): final checkpoint of each stage}
    spec = EvalSpec.from_params(params, benchmarks, shots, modes=("cot-fewshot",), nll=True)   # eval.evaluate
    scores = pretraining.score_runs(runs, spec, artifacts / "evals")   # Records (eval.records) + arm, seed
    table1 = pretraining.results_table(scores, arms, TABLE1)     # paper_numbers.TABLE1 beside ours
    verdicts = pretraining.judge(scores, findings)               # each claim per measure, from a paired interval
    print(pretraining.findings_conclusion(verdicts, table1))     # the notebook's conclusion, read from both

Modules, one job each: arms (what each table row trains on), runs (packing the corpora and training every
stage of every arm per seed, shared stages trained once), scores (per-problem scores, results tables,
paired differences, learning curves), findings (the paper's claims judged from paired intervals, the
conclusion, the published base model).

Departures from the paper at small scale: token budgets of ~10^5-10^6 tokens instead of 150B / 400B, the
first stage no longer than the math stage (the paper's 400B : 150B would triple the hour's budget), a 1M-
parameter model from scratch instead of 1.3B, our world's corpora and benchmarks instead of the web's.
"""

from dsmath_lib.pretraining.arms import Arm, Stage, arms_by_key, base_arm, corpus_arms, staging_arms
from dsmath_lib.pretraining.findings import VERDICT_WORDS, Finding, findings_conclusion, judge, publish_base
from dsmath_lib.pretraining.runs import (corpus_sizes, curve_checkpoints, init_checkpoint, pack_corpora, run_arms,
                                         stage_spec, warm_start)
from dsmath_lib.pretraining.scores import (SCORE_COLUMNS, curve_table, mean_of, measure_name, paired_difference,
                                           plot_curves, results_table, score_curves, score_runs, seed_table)

__all__ = ["Arm", "Stage", "arms_by_key", "base_arm", "corpus_arms", "staging_arms", "VERDICT_WORDS", "Finding",
           "findings_conclusion", "judge", "publish_base", "corpus_sizes", "curve_checkpoints", "init_checkpoint",
           "pack_corpora", "run_arms", "stage_spec", "warm_start", "SCORE_COLUMNS", "curve_table", "mean_of",
           "measure_name", "paired_difference", "plot_curves", "results_table", "score_curves", "score_runs",
           "seed_table"]
