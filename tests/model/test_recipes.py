"""Per-family training recipes: selected by the model, overridable with --set, v1 unchanged."""

import pytest

from olmo_green.config import ScheduleSection, TrainConfig, apply_overrides
from olmo_green.model.config import PRESETS
from olmo_green.model.olmo import OLMo
from olmo_green.model.optim import learning_rate, param_groups
from olmo_green.model.recipes import FAMILY_RECIPES, SIZE_RECIPES, recipe


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_recipe_is_a_valid_configuration(preset):
    config = apply_overrides(TrainConfig(), [f"model.name={preset}"])
    for key, value in recipe(preset).items():
        section, name = key.split(".")
        assert getattr(getattr(config, section), name) == value, key


def test_olmo2_7b_recipe_is_the_published_one():
    # configs/official-1124/OLMo2-7B-stage1.yaml: 1024 x 4096 tokens a step, warmup 8,388,608,000
    # tokens = 2000 steps, cosine to 0.1 x 3e-4 over 5e12 tokens = 1,192,092 steps
    config = apply_overrides(TrainConfig(), ["model.name=olmo2-7b"])
    assert (config.optim.lr, config.optim.eps, config.optim.weight_decay) == (3e-4, 1e-8, 0.1)
    assert config.optim.decay_norm_and_bias is True
    assert (config.batch.global_batch_size, config.model.sequence_length) == (1024, 4096)
    assert (config.schedule.warmup_steps, config.schedule.t_max) == (2000, 1_192_092)
    assert (config.schedule.warmup_start, config.schedule.alpha_f) == (0.0, 0.1)


def test_olmo3_recipe_trains_8192_token_sequences():
    config = apply_overrides(TrainConfig(), ["model.name=olmo3-7b"])
    assert (config.model.sequence_length, config.batch.global_batch_size) == (8192, 512)


@pytest.mark.parametrize("order", ["set-after-model", "set-before-model"])
def test_set_overrides_the_recipe_in_any_order(order):
    pairs = ["model.name=olmo2-7b", "optim.eps=1e-6"]
    config = apply_overrides(TrainConfig(), pairs if order == "set-after-model" else pairs[::-1])
    assert config.optim.eps == 1e-6 and config.optim.lr == 3e-4


def test_an_unchanged_model_name_keeps_the_saved_values():
    # A resumed run passes --model again: its config.yaml's own values must survive.
    saved = apply_overrides(TrainConfig(), ["model.name=olmo2-7b", "optim.lr=1e-4"])
    again = apply_overrides(saved, ["model.name=olmo2-7b"])
    assert again == saved


def test_olmo_v1_presets_keep_the_v1_defaults():
    for preset in ("tiny", "small", "olmo-1b", "olmo-7b"):
        config = apply_overrides(TrainConfig(), [f"model.name={preset}"])
        defaults = TrainConfig()
        assert (config.optim, config.schedule, config.batch) == (defaults.optim, defaults.schedule,
                                                                 defaults.batch)


def test_a_model_file_brings_its_family_recipe(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("family: olmo3\n")
    assert recipe(str(path)) == FAMILY_RECIPES["olmo3"]
    assert recipe(str(tmp_path / "absent.yaml")) == {} and recipe("no-such-preset") == {}


def test_size_recipes_exist_only_for_presets():
    assert set(SIZE_RECIPES) <= set(PRESETS)


def test_olmo2_decays_norm_weights_but_never_embeddings():
    model = OLMo.from_preset("olmo2-tiny")
    decay, no_decay = param_groups(model, 0.1, decay_norm_and_bias=True)
    decayed = {id(p) for p in decay["params"]}
    assert id(model.transformer.blocks[0].q_norm.weight) in decayed
    assert id(model.transformer.ln_f.weight) in decayed
    assert [id(p) for p in no_decay["params"]] == [id(model.transformer.wte.weight)]
    assert no_decay["weight_decay"] == 0.0


def test_without_the_option_norm_weights_are_not_decayed():
    model = OLMo.from_preset("olmo2-tiny")
    decay, no_decay = param_groups(model, 0.1)
    assert all(p.dim() == 2 for p in decay["params"])
    assert id(model.transformer.ln_f.weight) in {id(p) for p in no_decay["params"]}


def test_olmo_v1_groups_are_unchanged():
    model = OLMo.from_preset("tiny")
    for option in (False, True):  # v1 has no norm weights or biases: the option changes nothing
        decay, no_decay = param_groups(model, 0.1, decay_norm_and_bias=option)
        assert [id(p) for p in no_decay["params"]] == [id(model.transformer.wte.weight)]
        assert len(decay["params"]) == 4 * 4


def test_warmup_from_zero_as_olmo_core():
    # OLMo-core _linear_warmup with warmup_min_lr 0: peak * step / warmup
    schedule = ScheduleSection(warmup_steps=4, warmup_start=0.0)
    assert [learning_rate(s, 1.0, schedule, 100) for s in (1, 2, 3)] == [0.25, 0.5, 0.75]
    assert learning_rate(1, 1.0, ScheduleSection(warmup_steps=4), 100) == 0.1 + 0.9 * 1 / 4


def test_warmup_start_is_range_checked():
    from olmo_green.errors import ConfigError

    with pytest.raises(ConfigError, match="schedule.warmup_start"):
        apply_overrides(TrainConfig(), ["schedule.warmup_start=1.5"])
