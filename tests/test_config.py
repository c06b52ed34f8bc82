"""The params loader: every scale file loads; bad files fail naming the key and the file."""

import pytest

from dsmath_lib.config import SCALES, ParamsError, load_params, params_path


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
