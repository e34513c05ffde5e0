"""Installs olmo_green; the top-level model/ and dashboards/ folders install as
olmo_green.model and olmo_green.dashboards (see docs/design.md, Layout)."""

from setuptools import find_packages, setup

# Top-level folders that live inside the olmo_green namespace once installed.
MAPPED_FOLDERS = {"olmo_green.model": "model", "olmo_green.dashboards": "dashboards"}


def _packages() -> list[str]:
    names = ["olmo_green"] + [f"olmo_green.{p}" for p in find_packages("olmo_green")]
    for package, folder in MAPPED_FOLDERS.items():
        names += [package] + [f"{package}.{p}" for p in find_packages(folder)]
    return names


setup(
    name="olmo-green",
    version="0.1.0",
    description="Train OLMo models inside a telemetry layer and publish their energy and carbon.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=_packages(),
    package_dir={"olmo_green": "olmo_green", **MAPPED_FOLDERS},
    # Every data file the code opens next to its module (tests/test_packaging.py checks the wheel).
    package_data={"olmo_green": ["hardware/*.csv", "reports/*.csv"],
                  # the Grafana dashboard for the /metrics exporter, importable from the installed package
                  "olmo_green.dashboards": ["grafana/*.json"]},
    install_requires=[
        # A range that the CPU build 2.13.0 satisfies, so an installed torch is kept.
        "torch>=2.3",
        "numpy>=1.24",
        "click>=8.1",
        "pandas>=2.0",
        "pyarrow>=14",
        "plotly>=5.18",
        "codecarbon>=2.3",
        # The maintained distribution of the `pynvml` module (the `pynvml` one is deprecated).
        "nvidia-ml-py>=12.535",
        "pyyaml>=6",
        "rich>=13",
        "safetensors>=0.4",
        "tokenizers>=0.15",
    ],
    extras_require={
        # Must match the ROCm library on the machine; without it, import prints and fails.
        "amd": ["amdsmi"],
        # setuptools builds the wheel that tests/test_packaging.py inspects (bdist_wheel built in
        # from 70.1, so no `wheel` package is needed, and the build works offline).
        # The OLMo-core callback (olmo_green/integrations/olmo_core.py), tested against 3.x.
        "olmo-core": ["ai2-olmo-core>=3.0,<4"],
        # Live outputs (olmo_green/telemetry/trackers.py, metrics.py). torch's SummaryWriter needs the
        # tensorboard package; mlflow-skinny is MLflow's client without its server (a local file store
        # in RUN/mlruns/ needs nothing more); prometheus_client also comes with codecarbon.
        "tensorboard": ["tensorboard>=2.14"],
        "mlflow": ["mlflow-skinny>=2.10"],
        "wandb": ["wandb>=0.16"],
        "prometheus": ["prometheus_client>=0.20"],
        # W&B is left out of the test extra: it ships ~60 MB of service binaries; its test runs
        # where it is installed, and its missing-library message is tested everywhere.
        # The documentation site (mkdocs.yml): `mkdocs build --strict` runs in .ci/run.
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocs-click>=0.8", "mkdocstrings[python]>=0.25"],
        "test": ["pytest>=7", "ruff>=0.4", "transformers>=4.40", "setuptools>=70.1",
                 # transformers' Trainer needs accelerate (tests/integrations/test_hf_trainer.py)
                 "accelerate>=1.1",
                 "ai2-olmo-core>=3.0,<4", "tensorboard>=2.14", "mlflow-skinny>=2.10",
                 "prometheus_client>=0.20",
                 # read back with the tools users have (issue 25): model cards, emissions.csv, sacct
                 "huggingface_hub>=0.20", "codecarbon>=2.3", "pandas>=2.0"],
    },
    entry_points={"console_scripts": ["olmo-green=olmo_green.cli:main"]},
)
