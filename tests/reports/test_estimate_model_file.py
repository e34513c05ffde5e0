"""`estimate --model FILE.yaml` and `train --model FILE.yaml` share one loader: a bad file is one line."""

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.model.build import model_config
from olmo_green.model.config import OLMoConfig
from olmo_green.reports.estimate import load_model_config
from tests.cli_checks import one_line

BAD_FILES = {
    "python_object": "!!python/object/apply:os.system ['echo pwned']\n",
    "syntax_error": "d_model: [1, 2\nn_layers: 2\n",
    "not_a_mapping": "- d_model\n- n_layers\n",
    "not_utf8": b"d_model: \xff\xfe\n",
}


def _estimate(path):
    args = ["estimate", "--model", str(path), "--tokens", "1e9", "--hardware", "lumi"]
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_model_yaml_is_one_line_naming_the_file(tmp_path, case):
    path = tmp_path / f"{case}.yaml"
    content = BAD_FILES[case]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    one_line(_estimate(path), str(path))


def test_a_missing_model_yaml_is_one_line(tmp_path):
    one_line(_estimate(tmp_path / "nowhere.yaml"), "nowhere.yaml")


def test_train_and_estimate_load_the_same_config_from_one_file(tmp_path):
    fields = OLMoConfig.from_preset("tiny").to_dict()
    flat, nested = tmp_path / "flat.yaml", tmp_path / "nested.yaml"
    flat.write_text(yaml.safe_dump(fields))
    nested.write_text(yaml.safe_dump({"model": fields}))
    assert model_config(str(flat)) == load_model_config(str(flat)) == OLMoConfig.from_preset("tiny")
    assert model_config(str(nested)) == load_model_config(str(nested))
    result = _estimate(flat)
    assert result.exit_code == 0, result.output
