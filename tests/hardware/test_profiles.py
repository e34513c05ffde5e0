"""Hardware profiles load from the cited table and from users' YAML files."""

import pytest

from olmo_green.errors import ConfigError
from olmo_green.hardware import list_profiles, load_profile


def test_builtin_profiles_of_the_design_exist():
    names = {p.name for p in list_profiles()}
    assert {"lumi", "mosaicml-a100", "h100", "local"} <= names


def test_lumi_is_eight_gcds_on_four_packages():
    lumi = load_profile("lumi")
    assert lumi.devices_per_node == 8 and lumi.packages_per_node == 4


def test_user_yaml_profile(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("name: site\ngpu_type: X\naccelerator: X\nvendor: nvidia\ndevices_per_node: 4\n"
                    "devices_per_package: 1\npackage_tdp_w: 300\npackage_idle_w: 30\npue: 1.3\n")
    profile = load_profile(str(path))
    assert profile.name == "site" and profile.pue == 1.3


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigError, match="lumi"):
        load_profile("no-such-cluster")
