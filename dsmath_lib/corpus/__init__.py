"""The math corpus pipeline of paper §2.1: pool dedup, fastText classifier, datatrove scoring pass,
iterative mining with domain discovery and URL-path annotation, and benchmark decontamination.

    from dsmath_lib.corpus import dedup_pool, mine, OracleAnnotator, BenchmarkIndex, decontaminate
    pool, dedup_report = dedup_pool(pages)
    result = mine(pool, seed_pages, params.mining, workdir, OracleAnnotator(labels, MATH_KINDS), labels, MATH_KINDS)
    clean, report = decontaminate(result.corpus, BenchmarkIndex.build(benchmark_texts))

One module per idea: dedup, classifier, scoring (the datatrove pipeline), annotation (domains, paths,
annotators), miner (the loop), decontamination.
"""

from dsmath_lib.corpus.annotation import (HumanAnnotator, OracleAnnotator, candidate_paths, discover_domains,
                                          read_annotations, url_path, write_annotation_tasks)
from dsmath_lib.corpus.classifier import FastTextParams, MathClassifier, train_classifier
from dsmath_lib.corpus.decontamination import BenchmarkIndex, DecontaminationReport, decontaminate
from dsmath_lib.corpus.dedup import DedupReport, dedup_pool
from dsmath_lib.corpus.miner import IterationRecord, MiningResult, mine, select_top
from dsmath_lib.corpus.scoring import make_executor, read_scores, run_scoring, write_pool_shards

__all__ = [
    "BenchmarkIndex", "DecontaminationReport", "DedupReport", "FastTextParams", "HumanAnnotator",
    "IterationRecord", "MathClassifier", "MiningResult", "OracleAnnotator", "candidate_paths", "decontaminate",
    "dedup_pool", "discover_domains", "make_executor", "mine", "read_annotations", "read_scores", "run_scoring",
    "select_top", "train_classifier", "url_path", "write_annotation_tasks", "write_pool_shards",
]
