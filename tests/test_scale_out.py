"""The scale-out engines as params select them: the scoring pass's Slurm and Ray executors (datatrove), the
vLLM rollout engine, the accelerate configs (DDP, FSDP, DeepSpeed) under accelerate's own validation, and
the GPU CI workflow (.github/workflows/gpu.yml), which may run only the README's commands.

Nothing is submitted: the Slurm executor renders its sbatch script without calling sbatch. Ray and vLLM run
where their packages import and are skipped, naming the package, elsewhere."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import random
import re
import shlex
import subprocess
import threading
import time

import pytest
import yaml

from dsmath_lib import paths
from dsmath_lib.config import ModelConfig, SCALES, load_params, params_path
from dsmath_lib.corpus.classifier import FastTextParams, MathClassifier, train_classifier
from dsmath_lib.corpus.miner import _cluster_args
from dsmath_lib.corpus.scoring import (make_executor, read_scores, run_scoring, scoring_pipeline, wait_for_tasks,
                                       write_pool_shards)
from dsmath_lib.synth.crawl import exposition_page, prose_page
from dsmath_lib.train import launch_command
from dsmath_lib.webdata import WebPage

ACCELERATE_CONFIGS = sorted((paths.PARAMS_DIR / "accelerate").glob("*.yaml"))


def executor_from_params(scale: str, tmp_path):
    """The scoring executor exactly as dsmath_lib.corpus.miner builds it from a params file's mining section."""
    cfg = load_params(params_path(scale)).mining
    pipeline = scoring_pipeline(tmp_path / "pool", tmp_path / "model.bin", tmp_path / "scores")
    return make_executor(cfg.executor, pipeline, cfg.tasks, cfg.workers, tmp_path / "logs", **_cluster_args(cfg)), cfg


# --- datatrove: Slurm ----------------------------------------------------------------------------------------

def test_paper_params_build_a_slurm_executor(tmp_path):
    pytest.importorskip("datatrove.executor.slurm", reason="datatrove's Slurm executor does not import")
    slurm, cfg = executor_from_params("paper", tmp_path)
    assert type(slurm).__name__ == "SlurmPipelineExecutor" and cfg.executor == "slurm"
    assert (slurm.tasks, slurm.workers, slurm.partition, slurm.time) == (cfg.tasks, cfg.workers, "cpu", cfg.slurm_time)
    assert [type(step).__name__ for step in slurm.pipeline] == ["JsonlReader", "ScorePages", "JsonlWriter"]
    assert slurm.logging_dir.path == str(tmp_path / "logs")


def test_slurm_launch_script_names_partition_time_and_tasks(tmp_path):
    pytest.importorskip("datatrove.executor.slurm", reason="datatrove's Slurm executor does not import")
    slurm, cfg = executor_from_params("paper", tmp_path)
    array = min(cfg.tasks, slurm.max_array_size)  # as launch_job sizes the job array
    script = slurm.get_launch_file_contents(slurm.get_sbatch_args(array), "launch_pickled_pipeline executor.pik")
    assert script.startswith("#!/bin/bash\n")
    for line in ["#SBATCH --partition=cpu", f"#SBATCH --time={cfg.slurm_time}", "#SBATCH --job-name=dsmath-score",
                 f"#SBATCH --array=0-{array - 1}%{cfg.workers}", "#SBATCH --cpus-per-task=1"]:
        assert line in script.splitlines(), line
    assert "launch_pickled_pipeline executor.pik" in script


def test_slurm_without_partition_and_unknown_executor_are_errors(tmp_path):
    pipeline = scoring_pipeline(tmp_path / "pool", tmp_path / "model.bin", tmp_path / "scores")
    with pytest.raises(ValueError, match="mining.slurm_partition"):
        make_executor("slurm", pipeline, 2, 2, tmp_path / "logs")
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        make_executor("spark", pipeline, 2, 2, tmp_path / "logs")


def test_scoring_waits_for_every_slurm_task(tmp_path):
    pytest.importorskip("datatrove.executor.slurm", reason="datatrove's Slurm executor does not import")
    slurm, _ = executor_from_params("paper", tmp_path)
    slurm.tasks = 3  # the job array's tasks, finishing one by one on the cluster
    def finish_tasks():
        for rank in range(3):
            time.sleep(0.05)
            slurm.mark_rank_as_completed(rank)
    worker = threading.Thread(target=finish_tasks)
    start = time.perf_counter()
    worker.start()
    wait_for_tasks(slurm, poll_s=0.01, job_queued=lambda job_id: True)
    assert time.perf_counter() - start >= 0.15 and slurm.get_incomplete_ranks() == []
    worker.join()


def test_scoring_stops_waiting_when_the_slurm_job_ends_with_a_task_unfinished(tmp_path):
    pytest.importorskip("datatrove.executor.slurm", reason="datatrove's Slurm executor does not import")
    slurm, _ = executor_from_params("paper", tmp_path)
    slurm.tasks = 3
    slurm.mark_rank_as_completed(0)
    slurm.mark_rank_as_completed(2)  # task 1 failed: it never writes its marker
    queued = iter([True, True, False])  # squeue lists the job for two polls, then it has left the queue
    with pytest.raises(RuntimeError, match=r"ended with tasks \[1\] of 3 unfinished.*logs"):
        wait_for_tasks(slurm, poll_s=0.01, job_queued=lambda job_id: next(queued))
    assert next(queued, "all asked") == "all asked"


def test_squeue_answers_are_read_as_queued_or_gone(monkeypatch):
    from dsmath_lib.corpus import scoring

    def squeue(stdout="", stderr="", returncode=0):
        return lambda *a, **k: subprocess.CompletedProcess(a, returncode, stdout, stderr)

    monkeypatch.setattr(scoring.subprocess, "run", squeue(stdout="  123_4 cpu score u R 0:05 1 n1\n"))
    assert scoring.slurm_job_queued(123)
    monkeypatch.setattr(scoring.subprocess, "run", squeue(stderr="slurm_load_jobs error: Invalid job id specified",
                                                          returncode=1))
    assert not scoring.slurm_job_queued(123)
    monkeypatch.setattr(scoring.subprocess, "run", squeue(stderr="Unable to contact slurm controller", returncode=1))
    assert scoring.slurm_job_queued(123)  # cannot tell: keep waiting
    monkeypatch.setattr(scoring.subprocess, "run", squeue())
    assert not scoring.slurm_job_queued(123)  # listed no more (an empty answer)


# --- datatrove: Ray ------------------------------------------------------------------------------------------

def test_ray_executor_scores_a_pool_in_one_local_task(tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install ray) for the Ray executor")
    rng = random.Random(0)
    model = train_classifier([exposition_page(rng, "areas") for _ in range(30)], [prose_page(rng) for _ in range(30)],
                             tmp_path / "model", FastTextParams(dim=8, epoch=5, bucket=10_000))
    pages = [WebPage(f"https://r.example/{i}", prose_page(rng)) for i in range(20)]
    write_pool_shards(pages, tmp_path / "pool", n_shards=1)
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        scores = read_scores(run_scoring(tmp_path / "pool", model, tmp_path / "run", "ray", tasks=1, workers=1))
    finally:
        ray.shutdown()
    direct = MathClassifier(model).predict_proba([p.text for p in pages])
    assert [round(scores[p.url], 6) for p in pages] == [round(float(x), 6) for x in direct]


# --- vLLM rollouts -------------------------------------------------------------------------------------------

def vllm_importable() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def tiny_policy():
    from dsmath_lib.model import build_model
    from dsmath_lib.tokenizer import train_tokenizer

    texts = [f"Tom has {i} apples and {i + 2} pears. How many?\n{i} + {i + 2} = {2 * i + 2}" for i in range(60)]
    tok = train_tokenizer(texts, vocab_size=300)
    return build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0).eval(), tok


@pytest.mark.skipif(vllm_importable(), reason="vllm is installed: the vLLM engine itself is tested below")
def test_vllm_engine_without_vllm_says_what_to_do(tiny_policy):
    from dsmath_lib.rl.rollout import make_sampler

    policy, tok = tiny_policy
    with pytest.raises(ImportError, match=r"grpo\.rollout_engine = 'vllm' needs the vllm package.*pip install vllm"):
        make_sampler("vllm", policy, tok)


def test_vllm_engine_returns_n_outputs_per_prompt(tiny_policy, tmp_path):
    pytest.importorskip("vllm", reason="vllm is not installed (pip install -e \".[gpu]\", a GPU machine)")
    from dsmath_lib.rl.rollout import make_sampler

    policy, tok = tiny_policy
    sample = make_sampler("vllm", policy, tok, workdir=tmp_path)
    prompts = ["Tom has 3 apples and 5 pears. How many?", "Tom has 1 apples and 3 pears. How many?"]
    outs = sample(prompts, 4, 8, 1.0, 0)
    assert len(outs) == 8  # n per prompt, grouped: outputs 0-3 answer prompt 0
    for ids, text in outs:
        assert 0 < len(ids) <= 8 and all(isinstance(t, int) and 0 <= t < len(tok) for t in ids)
        assert isinstance(text, str)


# --- accelerate configs --------------------------------------------------------------------------------------

def validated_launch(config, tmp_path):
    """`accelerate launch --config_file config -m dsmath_lib.train spec.json` through accelerate's own parsing and
    validation (what `accelerate launch` does before starting any process): (args, the loaded ClusterConfig)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    parser = launch_command_parser()
    args = parser.parse_args(["--config_file", str(config), "-m", "dsmath_lib.train", str(tmp_path / "spec.json")])
    args, defaults, from_config = _validate_launch_command(args)
    known = {action.dest for action in parser._actions}
    for key in list(defaults.fsdp_config) + list(defaults.deepspeed_config):
        assert key in known, f"{config.name}: {key} is not an option accelerate knows"
    return args, defaults, from_config


def test_there_are_ddp_fsdp_and_deepspeed_configs():
    assert [p.stem for p in ACCELERATE_CONFIGS] == ["ddp", "deepspeed", "fsdp"]


@pytest.mark.parametrize("config", ACCELERATE_CONFIGS, ids=lambda p: p.stem)
def test_accelerate_loads_and_validates_each_config(config, tmp_path):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    loaded = load_config_from_file(str(config))  # unknown top-level keys are errors here
    assert isinstance(loaded, ClusterConfig)
    args, defaults, _ = validated_launch(config, tmp_path)
    kind = {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed": "DEEPSPEED"}[config.stem]
    assert defaults.distributed_type.value == kind and args.num_processes == 8 and args.mixed_precision == "bf16"
    assert (args.multi_gpu, args.use_fsdp, args.use_deepspeed) == (kind == "MULTI_GPU", kind == "FSDP",
                                                                  kind == "DEEPSPEED")


def test_fsdp_config_builds_accelerates_fsdp2_plugin(tmp_path, monkeypatch):
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env

    args, _, _ = validated_launch(paths.PARAMS_DIR / "accelerate" / "fsdp.yaml", tmp_path)
    for key, value in prepare_multi_gpu_env(args).items():  # the environment the launched processes read
        monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]
    assert plugin.state_dict_type.name == "SHARDED_STATE_DICT" and plugin.reshard_after_forward is True
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"


def test_deepspeed_config_builds_accelerates_zero2_plugin(tmp_path, monkeypatch):
    from accelerate.utils import DeepSpeedPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env

    args, defaults, from_config = validated_launch(paths.PARAMS_DIR / "accelerate" / "deepspeed.yaml", tmp_path)
    fields = list(defaults.deepspeed_config) + (["mixed_precision"] if from_config else [])
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)  # as accelerate's launch_command sets it
    _, env = prepare_deepspeed_cmd_env(args)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugin = DeepSpeedPlugin()
    zero = plugin.deepspeed_config["zero_optimization"]
    assert plugin.zero_stage == 2 and zero["stage"] == 2
    assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "none"


def test_params_accelerate_configs_are_empty_or_files_the_launcher_finds(monkeypatch):
    configs = {(scale, section): getattr(load_params(params_path(scale)), section).accelerate_config
               for scale in SCALES for section in ("pretrain", "sft")}
    named = {key: config for key, config in configs.items() if config}
    assert {section for _, section in named} == {"pretrain", "sft"}, "a section names no accelerate config anywhere"
    monkeypatch.chdir(paths.NOTEBOOKS_DIR)  # where the notebooks that train run
    for (scale, section), config in named.items():
        assert (paths.ROOT / config).is_file(), f"{scale}.yaml: {section}.accelerate_config {config} does not exist"
        cmd = launch_command("spec.json", config)
        assert cmd[cmd.index("--config_file") + 1] == str(paths.ROOT / config)


# --- the GPU CI workflow -------------------------------------------------------------------------------------

def workflow_commands() -> list[str]:
    """Every shell command of the GPU workflow's `run:` steps (one per line, split at &&)."""
    workflow = yaml.safe_load((paths.ROOT / ".github" / "workflows" / "gpu.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    lines = [line.strip() for step in steps for line in step["run"].splitlines()]
    return [cmd.strip() for line in lines if line and not line.startswith("#") for cmd in line.split("&&")]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (paths.ROOT / "Makefile").read_text(), flags=re.M))


def test_gpu_workflow_runs_on_a_gpu_runner_by_hand_and_on_schedule():
    workflow = yaml.safe_load((paths.ROOT / ".github" / "workflows" / "gpu.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"workflow_dispatch", "schedule"}
    (job,) = workflow["jobs"].values()
    assert "gpu" in job["runs-on"] and job["timeout-minutes"] <= 90


def test_gpu_workflow_runs_only_the_readmes_commands():
    readme = (paths.ROOT / "README.md").read_text()
    commands = workflow_commands()
    assert "make test" in commands and "make reproduce SCALE=real-smoke" in commands
    for cmd in commands:
        assert cmd in readme, f"gpu.yml runs `{cmd}`, which README.md does not give"


def test_gpu_workflows_make_commands_are_real_targets_and_scales():
    targets = makefile_targets()
    for cmd in (c for c in workflow_commands() if c.startswith("make ")):
        words = shlex.split(cmd)[1:]
        assert [w for w in words if "=" not in w][0] in targets, cmd
        scales = [w.split("=", 1)[1] for w in words if w.startswith("SCALE=")]
        assert all(params_path(scale).is_file() for scale in scales), cmd
