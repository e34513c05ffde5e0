"""`olmo-green convert`: between Hugging Face and native OLMo checkpoints."""

import shutil
from pathlib import Path

import click

from olmo_green.checks import Checked
from olmo_green.errors import GreenError, InputFileError

# direction -> (format SRC must hold, format written to DST); names as in model/interop.py
DIRECTIONS = {"hf-to-olmo": ("hf", "olmo"), "olmo-to-hf": ("olmo", "hf")}
FORMAT_NAMES = {"hf": "Hugging Face", "olmo": "native OLMo"}


@click.command()
@click.argument("direction", type=click.Choice(list(DIRECTIONS)))
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--run-dir", "run_dirs", multiple=True, type=click.Path(),
              help="Training run(s) of this model: olmo-to-hf writes their model card as DST/README.md.")
@click.option("--model", "model_name", default=None,
              help="For a trainer checkpoint without its run's config.yaml: the preset or model YAML "
                   "it was trained as.")
@click.option("--intensity", type=Checked("intensity_kg_per_kwh"),
              help="Model card: carbon intensity in kg CO2e/kWh, where the run's profile has none.")
@click.option("--country", help="Model card: ISO 3166 alpha-3 code, that country's grid average.")
def command(direction: str, src: Path, dst: Path, run_dirs: tuple[str, ...] = (),
            model_name: str | None = None, intensity: float | None = None,
            country: str | None = None) -> None:
    """Convert a checkpoint between the Hugging Face and native OLMo formats.

    hf-to-olmo reads config.json + model.safetensors (or a sharded index) and writes
    model.pt + config.yaml; olmo-to-hf does the reverse. Weights keep their dtype.
    olmo-to-hf also takes what `olmo-green train` writes: a checkpoint folder
    (RUN/checkpoints/stepN, one process or sharded) or a run folder (its latest
    checkpoint); the run's energy goes into DST/README.md when it has a record.
    DST must not exist or be an empty directory. Tokenizer files are not copied.
    With --run-dir, olmo-to-hf also writes DST/README.md: the model card of
    `olmo-green model-card RUN` (energy and emissions of the training).
    """
    from olmo_green.model import interop  # imports torch: keep `--help` fast
    from olmo_green.model.olmo import OLMo

    source_format, target_format = DIRECTIONS[direction]
    trainer = src.is_dir() and interop.is_trainer_checkpoint(src)
    found = "olmo" if trainer else interop.detect_format(src)
    if found != source_format:
        other = next(d for d, (s, _) in DIRECTIONS.items() if s == found)
        what = "an olmo-green training checkpoint" if trainer else f"a {FORMAT_NAMES[found]} checkpoint"
        raise InputFileError(f"{src} holds {what}, "
                             f"not {FORMAT_NAMES[source_format]}: use `olmo-green convert {other}`")
    if model_name is not None and not trainer:
        raise InputFileError(f"--model is for a trainer checkpoint without its run; {src} carries its config")
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise InputFileError(f"{dst} already exists and is not an empty directory; choose a new one")
    checkpoint = interop.locate(src) if trainer else None
    carbon = {"intensity_kg_per_kwh": intensity, "country": country}
    # a bad run fails before any weight is written
    card, note = _card(direction, run_dirs, dst, checkpoint, carbon)
    if checkpoint is not None:
        click.echo(f"converting {checkpoint.chosen}")
    model = interop.load_trainer(checkpoint, OLMo, model_name) if checkpoint else OLMo.from_pretrained(src)
    _save_whole(model, dst, target_format, card)
    click.echo(f"wrote {FORMAT_NAMES[target_format]} checkpoint {dst} "
               f"({model.num_params():,} parameters, {interop.dtype_name(model)})")
    if note:
        click.echo(note)


def _card(direction: str, run_dirs: tuple[str, ...], dst: Path, checkpoint=None,
          carbon: dict | None = None) -> tuple[str | None, str]:
    """The model card (or None) and a line saying where it came from, or why there is none."""
    from olmo_green.accounts import account_many
    from olmo_green.reports.modelcard import model_card

    def card_text(runs: list[str] | tuple[str, ...], name: str) -> str:  # model-card's, with our options
        return model_card(account_many(list(runs), **(carbon or {})), name)

    if run_dirs:
        if direction != "olmo-to-hf":
            raise InputFileError("--run-dir writes a Hugging Face model card: use it with olmo-to-hf")
        card = card_text(run_dirs, dst.resolve().name)
        return card, f"model card from {', '.join(run_dirs)}: {dst}/README.md"
    run_dir = checkpoint.run_dir if checkpoint is not None else None
    if run_dir is None or not _has_record(run_dir):
        return None, ""
    try:  # the checkpoint's own run: its card when the record can be accounted for
        card = card_text([str(run_dir)], dst.resolve().name)
        return card, f"model card from run {run_dir}: {dst}/README.md"
    except GreenError as e:  # the weights are still worth writing; say why no energy goes with them
        return None, f"no model card: {e} (the weights are written without one)"


def _has_record(run_dir: Path) -> bool:
    """Whether the run measured anything: telemetry chunks or step rows (the record's names)."""
    from olmo_green import record as rr

    return (run_dir / rr.TELEMETRY_DIR).is_dir()


def _save_whole(model, dst: Path, target_format: str, card: str | None = None) -> None:
    """Write into a folder beside DST and rename it into place: a full disk or a read-only target
    is one line and leaves no half-written checkpoint (DST stays as it was)."""
    partial = dst.with_name(f".{dst.name}.partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)  # debris of a killed conversion
        model.save_pretrained(partial, format=target_format)
        if card is not None:
            (partial / "README.md").write_text(card, encoding="utf-8")
        if dst.exists():
            dst.rmdir()  # checked above: an empty directory
        partial.rename(dst)
    except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError
        shutil.rmtree(partial, ignore_errors=True)
        reason = getattr(e, "strerror", None) or (str(e).splitlines() or [type(e).__name__])[0]
        raise InputFileError(f"cannot write {dst} ({reason[:200]}); choose a writable DST with room for "
                             "the weights") from e
