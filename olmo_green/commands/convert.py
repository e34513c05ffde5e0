"""`olmo-green convert`: between Hugging Face and native OLMo checkpoints."""

import shutil
from pathlib import Path

import click

from olmo_green.errors import InputFileError

# direction -> (format SRC must hold, format written to DST); names as in model/interop.py
DIRECTIONS = {"hf-to-olmo": ("hf", "olmo"), "olmo-to-hf": ("olmo", "hf")}
FORMAT_NAMES = {"hf": "Hugging Face", "olmo": "native OLMo"}


@click.command()
@click.argument("direction", type=click.Choice(list(DIRECTIONS)))
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--run-dir", "run_dirs", multiple=True, type=click.Path(),
              help="Training run(s) of this model: olmo-to-hf writes their model card as DST/README.md.")
def command(direction: str, src: Path, dst: Path, run_dirs: tuple[str, ...] = ()) -> None:
    """Convert a checkpoint between the Hugging Face and native OLMo formats.

    hf-to-olmo reads config.json + model.safetensors (or a sharded index) and writes
    model.pt + config.yaml; olmo-to-hf does the reverse. Weights keep their dtype.
    DST must not exist or be an empty directory. Tokenizer files are not copied.
    With --run-dir, olmo-to-hf also writes DST/README.md: the model card of
    `olmo-green model-card RUN` (energy and emissions of the training).
    """
    from olmo_green.model import interop  # imports torch: keep `--help` fast

    source_format, target_format = DIRECTIONS[direction]
    found = interop.detect_format(src)
    if found != source_format:
        other = next(d for d, (s, _) in DIRECTIONS.items() if s == found)
        raise InputFileError(f"{src} holds a {FORMAT_NAMES[found]} checkpoint, "
                             f"not {FORMAT_NAMES[source_format]}: use `olmo-green convert {other}`")
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise InputFileError(f"{dst} already exists and is not an empty directory; choose a new one")
    card = _card(direction, run_dirs, dst)  # a bad run fails before any weight is written
    model = interop.load(src)
    _save_whole(model, dst, target_format, card)
    click.echo(f"wrote {FORMAT_NAMES[target_format]} checkpoint {dst} "
               f"({model.num_params():,} parameters, {interop.dtype_name(model)})")


def _card(direction: str, run_dirs: tuple[str, ...], dst: Path) -> str | None:
    if not run_dirs:
        return None
    if direction != "olmo-to-hf":
        raise InputFileError("--run-dir writes a Hugging Face model card: use it with olmo-to-hf")
    from olmo_green.commands.model_card import card_text

    return card_text(run_dirs, dst.resolve().name)


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
