"""`olmo-green convert`: between Hugging Face and native OLMo checkpoints."""

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
def command(direction: str, src: Path, dst: Path) -> None:
    """Convert a checkpoint between the Hugging Face and native OLMo formats.

    hf-to-olmo reads config.json + model.safetensors (or a sharded index) and writes
    model.pt + config.yaml; olmo-to-hf does the reverse. Weights keep their dtype.
    DST must not exist or be an empty directory. Tokenizer files are not copied.
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
    model = interop.load(src)
    model.save_pretrained(dst, format=target_format)
    click.echo(f"wrote {FORMAT_NAMES[target_format]} checkpoint {dst} "
               f"({model.num_params():,} parameters, {interop.dtype_name(model)})")
