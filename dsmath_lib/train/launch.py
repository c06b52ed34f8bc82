"""Run a training spec in this process, or under `accelerate launch` on several processes or GPUs.

    from dsmath_lib.train import run
    result = run(spec)                                           # 1 process: train() right here
    result = run(spec, num_processes=2)                          # 2 local processes (CPU: gloo)
    result = run(spec, accelerate_config="params/accelerate/fsdp.yaml")   # a cluster config

With more than one process, or a config file, the spec goes to out/spec.json and a subprocess runs
`accelerate launch [...] -m dsmath_lib.train out/spec.json` with this interpreter; its output is
streamed here, and the result is read back from out/result.json. The tracker, which cannot cross the
process boundary, then gets the run's history replayed step by step.

Note on CPU: accelerate 1.15's `--cpu` flag starts a single process (its multi-CPU path expects
mpirun), so local multi-process runs without a GPU use `--multi_gpu` with ACCELERATE_USE_CPU=true,
which torchrun-launches the processes and makes accelerate pick the gloo backend.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import deque
from pathlib import Path

import torch

from dsmath_lib import paths
from dsmath_lib.train import checkpoint as ckpt
from dsmath_lib.train.loop import train
from dsmath_lib.train.spec import TrainResult, TrainSpec


def launch_command(spec_path: str | Path, accelerate_config: str = "", num_processes: int = 1,
                   mixed_precision: str = "no", fresh: bool = False, progress: bool = True) -> list[str]:
    """The `accelerate launch` command line that runs `python -m dsmath_lib.train spec_path`."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config:
        config = paths.ROOT / accelerate_config  # params name it from the repository root; notebooks run in notebooks/
        if not config.is_file():
            raise FileNotFoundError(f"{config}: accelerate config file not found")
        cmd += ["--config_file", str(config)]
        if num_processes > 1:
            cmd += ["--num_processes", str(num_processes)]
    else:
        cmd += ["--multi_gpu", "--num_processes", str(num_processes), "--num_machines", "1",
                "--mixed_precision", mixed_precision, "--dynamo_backend", "no",
                "--main_process_port", str(_free_port())]
    cmd += ["-m", "dsmath_lib.train", str(spec_path)]
    return cmd + (["--fresh"] if fresh else []) + ([] if progress else ["--no-progress"])


def run(spec: TrainSpec, accelerate_config: str = "", num_processes: int = 1, tracker=None,
        fresh: bool = False, progress: bool = True) -> TrainResult:
    """Train `spec` in-process (one process, no config) or through `accelerate launch`; the TrainResult."""
    if num_processes == 1 and not accelerate_config:
        return train(spec, tracker=tracker, progress=progress, fresh=fresh)
    spec.validate()
    out = Path(spec.out)
    if not fresh:  # fail (or finish) here, before overwriting the folder's spec.json
        done = ckpt.finished(out, spec.digest())
        if done is not None:
            return done
        ckpt.load_progress(out, spec.digest())
    spec_path = spec.to_json(out / "spec.json")
    cmd = launch_command(spec_path, accelerate_config, num_processes, spec.mixed_precision, fresh, progress)
    env = dict(os.environ)
    if not accelerate_config and not torch.cuda.is_available():
        env["ACCELERATE_USE_CPU"] = "true"
    _stream(cmd, env)
    result = TrainResult.from_json(ckpt.result_path(out))
    if tracker is not None:
        for record in result.history:
            tracker.log({f"train/{k}": v for k, v in record.items() if k != "step"}, step=record["step"])
    return result


def _stream(cmd: list[str], env: dict) -> None:
    """Run `cmd`, copying its output here as it comes; a failure raises with the output's tail."""
    tail: deque[bytes] = deque(maxlen=64)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env) as proc:
        while chunk := proc.stdout.read1(4096):
            tail.append(chunk)
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
        code = proc.wait()
    if code:
        text = b"".join(tail).decode(errors="replace")[-4000:]
        raise RuntimeError(f"training subprocess failed (exit {code}): {' '.join(cmd)}\n{text}")


def _free_port() -> int:
    """A free local TCP port for the launch's rendezvous, so parallel launches do not collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
