"""`olmo-green prepare-data`: text or JSONL into OLMo's token memmaps."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--tokenizer", type=click.Path(),
              help="A tokenizers-library JSON file. Default: byte-level (vocabulary 257, no download).")
def command(inputs: tuple[str, ...], out: str, tokenizer: str | None) -> None:
    """Tokenize text or JSONL files into OLMo's input_ids.npy format.

    A .jsonl file gives one document per line (its "text" field); any other file
    is one document. Documents are joined with the tokenizer's EOS token.
    With no INPUT, writes the built-in corpus (Python's own standard library).
    """
    from olmo_green.errors import InputFileError
    from olmo_green.model.corpus import ByteTokenizer, FileTokenizer, builtin_files

    paths = [Path(p) for p in inputs] or builtin_files()
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise InputFileError(f"input file {missing[0]} does not exist")
    tok = FileTokenizer(tokenizer) if tokenizer else ByteTokenizer()
    total = _tokenize_with_progress(paths, tok, Path(out))
    click.echo(f"wrote {total:,} tokens from {len(paths)} file(s) to {Path(out) / 'input_ids.npy'}")


def _tokenize_with_progress(paths: list[Path], tokenizer, out: Path) -> int:
    from rich.progress import Progress

    from olmo_green.model.corpus import read_documents, write_memmap

    with Progress(transient=True) as progress:
        task = progress.add_task("tokenizing", total=len(paths))

        def documents():
            for path in paths:
                yield from read_documents(path)
                progress.advance(task)  # a file done

        return write_memmap(documents(), tokenizer, out)
