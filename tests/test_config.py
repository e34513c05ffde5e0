"""The run configuration: validation names the field, overrides convert types, YAML round-trips."""

import pytest

from olmo_green.config import TrainConfig, apply_overrides
from olmo_green.errors import ConfigError
from olmo_green.record import RunConfig


def test_overrides_convert_values_to_the_field_types():
    config = apply_overrides(TrainConfig(), ["optim.lr=3e-4", "max_steps=50", "simulate=true",
                                             "optim.betas=[0.9, 0.99]", "model.sequence_length=null"])
    assert config.optim.lr == 3e-4 and isinstance(config.optim.lr, float)
    assert config.max_steps == 50 and config.simulate is True
    assert config.optim.betas == [0.9, 0.99] and config.model.sequence_length is None


def test_an_integer_is_accepted_for_a_float_field():
    assert apply_overrides(TrainConfig(), ["optim.lr=1"]).optim.lr == 1.0


@pytest.mark.parametrize("override, named", [
    ("optim.lrr=1", "optim.lrr"), ("nope=1", "nope"), ("optim.lr.x=1", "optim.lr.x"),
])
def test_unknown_keys_are_a_config_error_naming_the_key(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        apply_overrides(TrainConfig(), [override])


@pytest.mark.parametrize("override, field", [
    ("optim.lr=-1", "optim.lr"), ("max_steps=0", "max_steps"), ("schedule.name=step", "schedule.name"),
    ("optim.betas=[0.9]", "optim.betas"), ("max_steps=ten", "max_steps"), ("data.dtype=int8", "data.dtype"),
])
def test_invalid_values_name_the_field(override, field):
    with pytest.raises(ConfigError, match=field):
        apply_overrides(TrainConfig(), [override])


def test_a_section_cannot_be_overwritten_by_a_value():
    with pytest.raises(ConfigError, match="section"):
        apply_overrides(TrainConfig(), ["optim=1"])


def test_set_without_equals_sign_is_an_error():
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(TrainConfig(), ["optim.lr"])


def test_yaml_round_trip_skips_resolved_sections(tmp_path):
    config = apply_overrides(TrainConfig(), ["optim.lr=1e-3", "data.paths=[a, b]"])
    RunConfig.for_training(config, {"d_model": 8}, {"name": "local"}).save(tmp_path)
    assert "resolved_hardware" in (tmp_path / "config.yaml").read_text()
    loaded = RunConfig.load(tmp_path)
    assert loaded.train == config and loaded.resolved_model == {"d_model": 8}


def test_uneven_global_batch_is_rejected_with_both_fields_named():
    config = apply_overrides(TrainConfig(), ["batch.global_batch_size=6", "batch.micro_batch_size=4"])
    with pytest.raises(ConfigError, match="global_batch_size.*micro_batch_size"):
        config.batch.accumulation_steps(world_size=1)
    assert apply_overrides(TrainConfig(), ["batch.global_batch_size=16", "batch.micro_batch_size=4"]) \
        .batch.accumulation_steps(world_size=2) == 2
