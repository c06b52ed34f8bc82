"""The shared warm start of notebooks 02-03: trained once, every arm and seed continues from it."""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dsmath_lib import ablation
from dsmath_lib.config import PretrainConfig, load_params, params_path
from dsmath_lib.model import build_model, read_card, save_model
from dsmath_lib.tokenizer import train_tokenizer


def test_every_arm_and_seed_continues_from_one_warm_start(tmp_path):
    params = load_params(params_path("smoke"))
    params.model.context_length = 64
    params.pretrain = PretrainConfig(warm_start_tokens=256, math_tokens=256, batch_size=4, micro_batch_size=2,
                                     warmup_steps=1, checkpoint_every=2, eval_points=0, seeds=[0, 1])
    texts = {"general": [f"the weather is mild on day {i} and the road is long" for i in range(60)],
             "final": [f"Example. {i} + {i} = {2 * i}. Therefore the answer is {2 * i}." for i in range(60)]}
    tok = train_tokenizer([t for ts in texts.values() for t in ts], vocab_size=300)
    artifacts = tmp_path / "artifacts"
    save_model(build_model(params.model, tok, seed=0), tok, artifacts / "checkpoints" / "init", card={"stage": "init"})
    files = {}
    for name, lines in texts.items():
        files[name] = tmp_path / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps({"url": f"u/{i}", "text": t, "n_tokens": 9}) + "\n" for i, t in enumerate(lines)))
    packed = ablation.pack_corpora(files, tok, 64, artifacts / "packed")
    arms = [ablation.Arm("math", (ablation.Stage((("final", 256),)),), seeds=(0, 1)),
            ablation.Arm("general", (ablation.Stage((("general", 256),)),))]
    runs = ablation.run_arms(arms, packed, params, artifacts)
    warm = list((artifacts / "runs").glob("warm-start-*"))
    assert len(warm) == 1 and read_card(warm[0] / "final")["name"] == "warm start"
    assert not (artifacts / "runs" / "init-seed1").exists()  # seed 1 shares the warm start, no init of its own
    for stages in runs.values():
        spec = json.loads((stages[0].parent / "spec.json").read_text())
        assert spec["init"] == str(warm[0] / "final")
    # a second call (notebook 03 after 02) trains nothing new
    before = sorted(p.name for p in (artifacts / "runs").iterdir())
    assert ablation.warm_start(params, packed, artifacts) == warm[0] / "final"
    assert sorted(p.name for p in (artifacts / "runs").iterdir()) == before
    params.pretrain.warm_start_tokens = 0
    assert ablation.warm_start(params, packed, artifacts) is None
