"""The params loader: every scale file loads; bad files fail naming the key and the file."""

import pytest

import dataclasses
import doctest

from dsmath_lib import config
from dsmath_lib.config import GRPO_PRESETS, SCALES, GRPOConfig, ParamsError, load_params, params_path


@pytest.mark.parametrize("scale", SCALES)
def test_every_scale_file_loads(scale):
    params = load_params(params_path(scale))
    assert params.scale == scale
    assert params.source.endswith(f"{scale}.yaml")


def write(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_key_and_file(tmp_path):
    path = write(tmp_path, "scale: tiny\nworld:\n  n_trian: 5\n")
    with pytest.raises(ParamsError, match=r"p\.yaml.*'world\.n_trian'"):
        load_params(path)


def test_unknown_section(tmp_path):
    with pytest.raises(ParamsError, match="unknown key 'wrold'"):
        load_params(write(tmp_path, "scale: tiny\nwrold: {}\n"))


def test_wrong_type_names_key(tmp_path):
    with pytest.raises(ParamsError, match=r"'world\.n_test' must be int, got str"):
        load_params(write(tmp_path, "scale: tiny\nworld:\n  n_test: many\n"))


def test_bool_is_not_an_int(tmp_path):
    with pytest.raises(ParamsError, match="must be int"):
        load_params(write(tmp_path, "scale: tiny\nseed: true\n"))


def test_int_accepted_for_float(tmp_path):
    params = load_params(write(tmp_path, "scale: tiny\nsampling:\n  temperature: 1\n"))
    assert params.sampling.temperature == 1.0 and isinstance(params.sampling.temperature, float)


def test_literal_checked(tmp_path):
    with pytest.raises(ParamsError, match="'scale' = 'huge' is not one of"):
        load_params(write(tmp_path, "scale: huge\n"))


def test_missing_required_key(tmp_path):
    with pytest.raises(ParamsError, match="missing required key 'scale'"):
        load_params(write(tmp_path, "seed: 1\n"))


def test_missing_file_named(tmp_path):
    with pytest.raises(ParamsError, match="nope.yaml: params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_section_must_be_mapping(tmp_path):
    with pytest.raises(ParamsError, match="'model' must be a mapping"):
        load_params(write(tmp_path, "scale: tiny\nmodel: 3\n"))


def test_unknown_scale_name():
    with pytest.raises(ParamsError, match="unknown scale 'big'"):
        params_path("big")


def test_section_digest_moves_only_with_its_section(tmp_path):
    a = load_params(write(tmp_path, "scale: tiny\nworld:\n  n_test: 10\n"))
    b = load_params(write(tmp_path, "scale: tiny\nworld:\n  n_test: 11\n"))
    assert a.section_digest("world") != b.section_digest("world")
    assert a.section_digest("model", "sampling") == b.section_digest("model", "sampling")
    assert a.section_digest() != b.section_digest()


def test_paper_values_from_paper_md():
    params = load_params(params_path("paper"))
    assert params.sampling.temperature == 0.7  # Figure 7
    assert params.sampling.max_new_tokens == 1024  # §7
    assert params.model.context_length == 4096  # §3
    assert "deepseek-coder-7b-base-v1.5" in params.model.pretrained


# ------------------------------------------------------------------------------ grpo presets


def variant_fields(cfg: GRPOConfig) -> dict:
    return {key: getattr(cfg, key) for key in GRPO_PRESETS["grpo"]}


def test_grpo_defaults_are_the_papers_preset():
    assert set(GRPO_PRESETS) == {"grpo", "dr_grpo", "dapo"}
    assert all(set(fields) == set(GRPO_PRESETS["grpo"]) for fields in GRPO_PRESETS.values())
    assert variant_fields(GRPOConfig()) == GRPO_PRESETS["grpo"] and GRPOConfig().variant == "grpo"


@pytest.mark.parametrize("preset", list(GRPO_PRESETS))
def test_grpo_preset_fills_its_four_fields(tmp_path, preset):
    grpo = load_params(write(tmp_path, f"scale: tiny\ngrpo:\n  preset: {preset}\n  steps: 3\n")).grpo
    assert variant_fields(grpo) == GRPO_PRESETS[preset] and grpo.variant == preset and grpo.steps == 3
    assert grpo == GRPOConfig.from_preset(preset, steps=3)
    assert grpo == dataclasses.replace(GRPOConfig(), steps=3, **GRPO_PRESETS[preset])  # nothing else moves


def test_grpo_fields_given_beside_a_preset_override_it(tmp_path):
    text = "scale: tiny\ngrpo:\n  preset: dapo\n  dynamic_sampling_rounds: 1\n  clip_eps_high: null\n"
    grpo = load_params(write(tmp_path, text)).grpo
    assert variant_fields(grpo) == {"scale_rewards": True, "loss_normaliser": "token", "clip_eps_high": None,
                                    "dynamic_sampling_rounds": 1}
    assert grpo.variant == "token"  # no longer a preset: named by the fields that differ from the paper's
    assert GRPOConfig.from_preset("dr_grpo", scale_rewards=True).variant == "constant"
    assert load_params(write(tmp_path, "scale: tiny\ngrpo:\n  scale_rewards: false\n")).grpo.variant == "seq-unscaled"


def test_unknown_grpo_preset_names_the_choices(tmp_path):
    with pytest.raises(ParamsError, match=r"p\.yaml: key 'grpo\.preset' = 'ppo' is not one of grpo, dr_grpo, dapo"):
        load_params(write(tmp_path, "scale: tiny\ngrpo:\n  preset: ppo\n"))
    with pytest.raises(ValueError, match="is not one of grpo, dr_grpo, dapo"):
        GRPOConfig.from_preset("ppo")


@pytest.mark.parametrize("old, replacement", [("loss_type: dapo", "use grpo.preset .*loss_normaliser"),
                                              ("dapo_max_rounds: 3", "use grpo.dynamic_sampling_rounds")])
def test_removed_grpo_keys_say_what_replaced_them(tmp_path, old, replacement):
    key = old.split(":")[0]
    with pytest.raises(ParamsError, match=rf"p\.yaml: key 'grpo\.{key}' was removed: {replacement}"):
        load_params(write(tmp_path, f"scale: tiny\ngrpo:\n  preset: grpo\n  {old}\n"))


def test_grpo_variant_fields_are_type_checked(tmp_path):
    with pytest.raises(ParamsError, match="'grpo.loss_normaliser' = 'tokens' is not one of"):
        load_params(write(tmp_path, "scale: tiny\ngrpo:\n  loss_normaliser: tokens\n"))
    with pytest.raises(ParamsError, match="'grpo.scale_rewards' must be bool"):
        load_params(write(tmp_path, "scale: tiny\ngrpo:\n  scale_rewards: 1\n"))


def test_docstring_examples():
    result = doctest.testmod(config)
    assert result.attempted > 0 and result.failed == 0


def test_eval_pretrained_may_not_repeat_model_pretrained(tmp_path):
    same = "scale: gpu\nmodel:\n  pretrained: org/base\neval:\n  pretrained: org/base\n"
    with pytest.raises(ParamsError, match="already evaluates as checkpoints/init"):
        load_params(write(tmp_path, same))
    other = load_params(write(tmp_path, same.replace("eval:\n  pretrained: org/base", "eval:\n  pretrained: org/other")))
    assert other.eval.pretrained == "org/other"
