"""The scoring pass: every pool page gets P(math) from the classifier, as a datatrove pipeline.

    from dsmath_lib.corpus.scoring import write_pool_shards, run_scoring, read_scores
    write_pool_shards(pool, workdir / "pool", n_shards=2)
    out = run_scoring(workdir / "pool", model_path, workdir / "scores-1", executor="local", tasks=2, workers=2)
    scores = read_scores(out)          # {url: probability of math}

The pipeline is JsonlReader (the pool's shards) -> ScorePages (our PipelineStep: batches of documents
through MathClassifier, score in `metadata["math_score"]`) -> JsonlWriter (url and score only). The
executor is a parameter: "local" runs datatrove's LocalPipelineExecutor with `tasks` tasks on `workers`
processes (each task reads its share of the shard files, so there are as many shards as tasks); "slurm"
and "ray" build datatrove's SlurmPipelineExecutor / RayPipelineExecutor for a cluster. Ray's `run` returns
when its tasks have finished; Slurm's returns once sbatch has queued the job array, so `run_scoring` then
waits for every task's completion marker (the miner reads the scores next). The classifier
travels to workers as a model path and loads lazily, once per worker. Datatrove skips tasks already
completed in the same logging folder, so an interrupted pass resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path
from typing import Literal, Sequence

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from dsmath_lib.corpus.classifier import MathClassifier
from dsmath_lib.webdata import WebPage

log = logging.getLogger(__name__)
ExecutorKind = Literal["local", "slurm", "ray"]
SCORE_KEY = "math_score"


class ScorePages(PipelineStep):
    """Adds `metadata["math_score"]` = P(math) to each document, scoring in batches."""

    name = "math classifier score"
    type = "🔢 - SCORER"

    def __init__(self, model_path: str | Path, batch_size: int = 512):
        super().__init__()
        self.model_path = str(model_path)
        self.batch_size = batch_size

    def _score(self, classifier: MathClassifier, batch: list) -> list:
        with self.track_time(unit="batch"):
            probs = classifier.predict_proba([doc.text for doc in batch])
        for doc, p in zip(batch, probs):
            doc.metadata[SCORE_KEY] = float(p)
            self.stat_update("scored")
        return batch

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        classifier = MathClassifier(self.model_path)  # loaded here, in the worker, on the first batch
        batch = []
        for doc in data:
            batch.append(doc)
            if len(batch) >= self.batch_size:
                yield from self._score(classifier, batch)
                batch = []
        if batch:
            yield from self._score(classifier, batch)


def _score_record(self, document) -> dict:
    """JsonlWriter adapter: keep only what selection needs (the pool's text is already on disk)."""
    return {"id": document.id, SCORE_KEY: document.metadata[SCORE_KEY]}


def write_pool_shards(pages: Sequence[WebPage], folder: str | Path, n_shards: int) -> list[Path]:
    """The pool as `n_shards` JSONL files {id: url, text}, page i in shard i % n_shards."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"pool-{k:05d}.jsonl" for k in range(n_shards)]
    handles = [open(p, "w", encoding="utf-8") for p in paths]
    try:
        for i, page in enumerate(pages):
            handles[i % n_shards].write(json.dumps({"id": page.url, "text": page.text}, ensure_ascii=False) + "\n")
    finally:
        for h in handles:
            h.close()
    return paths


def scoring_pipeline(pool_folder: str | Path, model_path: str | Path, output_folder: str | Path) -> list:
    return [
        JsonlReader(str(pool_folder), glob_pattern="*.jsonl", compression=None),
        ScorePages(model_path),
        JsonlWriter(str(output_folder), output_filename="${rank}.jsonl", compression=None, adapter=_score_record),
    ]


def make_executor(kind: ExecutorKind, pipeline: list, tasks: int, workers: int, logging_dir: str | Path,
                  slurm_partition: str = "", slurm_time: str = "04:00:00", venv_path: str | None = None):
    """The datatrove executor for `kind` ("local" here; "slurm" / "ray" on a cluster)."""
    if kind == "local":
        from datatrove.executor import LocalPipelineExecutor

        # fork, not datatrove's default forkserver: workers inherit the imported modules instead of
        # re-importing the caller's __main__ (a script without a main guard, a notebook kernel)
        return LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=str(logging_dir),
                                     start_method="fork")
    if kind == "slurm":
        from datatrove.executor import SlurmPipelineExecutor

        if not slurm_partition:
            raise ValueError("executor 'slurm' needs a partition (mining.slurm_partition in the params file)")
        return SlurmPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=workers, time=slurm_time,
                                     partition=slurm_partition, logging_dir=str(logging_dir),
                                     job_name="dsmath-score", cpus_per_task=1, venv_path=venv_path)
    if kind == "ray":
        from datatrove.executor import RayPipelineExecutor

        return RayPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=str(logging_dir))
    raise ValueError(f"unknown executor {kind!r}: choose local, slurm or ray")


def slurm_job_queued(job_id) -> bool:
    """Whether Slurm still lists job `job_id` (squeue); True when squeue cannot answer, so waiting goes on."""
    try:
        out = subprocess.run(["squeue", "-h", "-j", str(job_id)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return True
    if out.returncode != 0:  # a job that has left the queue is an "Invalid job id" to squeue
        return "invalid job id" not in out.stderr.lower()
    return bool(out.stdout.strip())


def wait_for_tasks(runner, poll_s: float = 60.0, job_queued=slurm_job_queued) -> None:
    """Block until every task of a submitted pipeline has written its completion marker.

    A failed Slurm task never writes one: once the job has left the queue (job_queued(job_id) is False) with
    tasks unfinished, this raises, naming them and the logging folder to read; rerunning resubmits only the
    unfinished tasks."""
    while incomplete := runner.get_incomplete_ranks():
        if not job_queued(runner.job_id) and (incomplete := runner.get_incomplete_ranks()):
            raise RuntimeError(f"scoring: Slurm job {runner.job_id} ended with tasks {incomplete} of "
                               f"{runner.world_size} unfinished; their logs are in {runner.logging_dir.path}")
        log.info("scoring: %d of %d tasks unfinished (job %s, logs in %s)", len(incomplete), runner.world_size,
                 runner.job_id, runner.logging_dir.path)
        time.sleep(poll_s)


def run_scoring(pool_folder: str | Path, model_path: str | Path, out_dir: str | Path,
                executor: ExecutorKind = "local", tasks: int = 2, workers: int = 2, **cluster) -> Path:
    """Run the scoring pass on `executor` until every task is done; returns the folder the scores go to."""
    out_dir = Path(out_dir)
    pipeline = scoring_pipeline(pool_folder, model_path, out_dir / "scores")
    runner = make_executor(executor, pipeline, tasks, workers, out_dir / "logs", **cluster)
    runner.run()
    if executor == "slurm":  # sbatch returns once the job is queued
        wait_for_tasks(runner)
    return out_dir / "scores"


def read_scores(folder: str | Path) -> dict[str, float]:
    """{url: score} from the scoring pass's output files; errors name the file and line."""
    scores: dict[str, float] = {}
    files = sorted(Path(folder).glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"{folder}: no score files (has the scoring pass finished?)")
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                row = json.loads(line)
                scores[row["id"]] = float(row[SCORE_KEY])
            except (ValueError, KeyError) as err:
                raise ValueError(f"{path}:{lineno}: bad score record: {err}") from err
    return scores

