"""A run folder on disk: resumable state, learning-curve and final checkpoints, the result, all atomic.

    from dsmath_lib.train import checkpoint as ckpt
    ckpt.finished(out, digest)                        # TrainResult of a finished run of this spec, or None
    ckpt.load_progress(out, digest)                   # progress dict of an interrupted run, or None
    ckpt.save_resume(accelerator, out, progress)      # every process calls it
    ckpt.save_checkpoint(accelerator, model, tok, path, card)

The run folder `out`:
    out/spec.json      the spec, written at the start (so a run folder says what made it)
    out/resume/        accelerator.save_state (model, optimizer, LR scheduler, RNG) + progress.json
                       (step, tokens, history, wall time, spec digest); replaced as a whole by a rename
    out/curve/<tokens>/ model checkpoints at the learning-curve points (save_model, with a card)
    out/final/         the final checkpoint (save_model), its dsmath.json card carries the spec digest
    out/result.json    TrainResult, written last: its presence with a matching card means "finished"

Stages talk through these folders only. A folder holding a run of another spec (digest mismatch) is an
error naming the folder, unless the caller asks for a fresh start.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from accelerate import Accelerator
from accelerate.utils import DistributedType

from dsmath_lib.model import read_card, save_model
from dsmath_lib.train.spec import TrainResult

PROGRESS = "progress.json"


def final_dir(out: str | Path) -> Path:
    return Path(out) / "final"


def resume_dir(out: str | Path) -> Path:
    return Path(out) / "resume"


def curve_dir(out: str | Path, tokens: int) -> Path:
    return Path(out) / "curve" / str(tokens)


def result_path(out: str | Path) -> Path:
    return Path(out) / "result.json"


def _mismatch(folder: Path, found: str, digest: str) -> ValueError:
    return ValueError(f"{folder} holds a run of another spec (digest {found}, this spec {digest}); "
                      "choose another out folder or pass fresh=True to discard it")


def finished(out: str | Path, digest: str) -> TrainResult | None:
    """The result of a finished run of the spec with `digest` in `out`, None when unfinished."""
    final, result = final_dir(out), result_path(out)
    if not result.is_file():
        return None
    found = read_card(final).get("spec_digest")
    if found is None:  # a result without its checkpoint: rebuild the final checkpoint from out/resume
        return None
    if found != digest:
        raise _mismatch(final, str(found), digest)
    return TrainResult.from_json(result)


def _resume_source(out: str | Path) -> Path | None:
    """out/resume, or the previous state left by a save interrupted between its two renames."""
    for folder in (resume_dir(out), Path(out) / ".resume.old"):
        if (folder / PROGRESS).is_file():
            return folder
    return None


def load_progress(out: str | Path, digest: str) -> tuple[Path, dict] | None:
    """(state folder, progress) of an interrupted run of this spec, None when there is none."""
    folder = _resume_source(out)
    if folder is None:
        return None
    progress = json.loads((folder / PROGRESS).read_text())
    if progress.get("spec_digest") != digest:
        raise _mismatch(folder, str(progress.get("spec_digest")), digest)
    return folder, progress


def clear(out: str | Path) -> None:
    """Remove everything a previous run left in `out` (fresh start); the spec is rewritten by the caller."""
    out = Path(out)
    for name in ("final", "resume", ".resume.old", ".resume.tmp", "curve"):
        shutil.rmtree(out / name, ignore_errors=True)
    result_path(out).unlink(missing_ok=True)


def save_resume(accelerator: Accelerator, out: str | Path, progress: dict) -> Path:
    """Write the resumable state to out/resume atomically. Every process must call it (collective)."""
    out, final = Path(out), resume_dir(out)
    tmp, old = out / ".resume.tmp", out / ".resume.old"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))  # each process writes its own RNG state beside the shared weights
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / PROGRESS).write_text(json.dumps(progress) + "\n")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def plain_model(accelerator: Accelerator, model):
    """On the main process, the trained model as a plain HF model with full weights (None elsewhere).

    Collective: under FSDP or DeepSpeed the full state dict is gathered from the shards on every
    process, then loaded into a fresh copy (untested here: no GPU). Otherwise the unwrapped model is it.
    """
    sharded = accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
    state = accelerator.get_state_dict(model) if sharded else None
    if not accelerator.is_main_process:
        return None
    plain = accelerator.unwrap_model(model)
    if sharded:
        copy = type(plain)(plain.config)
        copy.load_state_dict(state)
        return copy
    return plain


def save_checkpoint(accelerator: Accelerator, model, tokenizer, path: Path, card: dict) -> Path:
    """save_model (atomic) of the trained model with `card`, by the main process; collective."""
    plain = plain_model(accelerator, model)
    if accelerator.is_main_process:
        save_model(plain, tokenizer, path, card=card)
    accelerator.wait_for_everyone()
    return path


def write_result(out: str | Path, result: TrainResult) -> Path:
    """out/result.json, atomically: the marker of a finished run."""
    path = result_path(out)
    tmp = path.with_name(".result.json.tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(result), indent=1) + "\n")
    tmp.rename(path)
    return path
