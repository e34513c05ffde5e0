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
    for path in paths:
        if path.is_dir():
            raise InputFileError(f"input {path} is a directory; pass the text or JSONL files in it "
                                 f"(e.g. {path}/*.jsonl)")
        if not path.is_file():
            raise InputFileError(f"input file {path} does not exist; pass text or JSONL files (or none, "
                                 "for the built-in corpus)")
        if path.stat().st_size == 0:  # else it becomes one EOS token: a corpus with no text
            raise InputFileError(f"input file {path} is empty; pass files that hold text")
    from olmo_green.outputs import refuse_record_target

    refuse_record_target(Path(out) / "input_ids.npy", "--out")  # never into a run's record
    tok = FileTokenizer(tokenizer) if tokenizer else ByteTokenizer()
    out_existed = Path(out).exists()
    try:
        total = _tokenize_with_progress(paths, tok, Path(out))
    except BaseException:
        if not out_existed:  # a failed command leaves no empty --out folder behind
            _remove_if_empty(Path(out))
        raise
    click.echo(f"wrote {total:,} tokens from {len(paths)} file(s) to {Path(out) / 'input_ids.npy'}")


def _tokenize_with_progress(paths: list[Path], tokenizer, out: Path) -> int:
    """Tokenize into out/input_ids.npy; a write or decoding failure is one line."""
    from olmo_green.errors import InputFileError

    try:
        return _tokenize(paths, tokenizer, out)
    except OSError as e:  # --out read-only, a full disk, a file in the way: one line
        raise InputFileError(f"cannot write {out / 'input_ids.npy'} ({e.strerror or e}); "
                             "choose a writable --out or free some space") from e
    except UnicodeDecodeError as e:
        raise InputFileError(f"an input is not UTF-8 text ({e.reason} at byte {e.start}); "
                             "convert it to UTF-8") from e


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty, or not there: leave it


def _tokenize(paths: list[Path], tokenizer, out: Path) -> int:
    from rich.progress import Progress

    from olmo_green.model.corpus import read_documents, write_memmap

    with Progress(transient=True) as progress:
        task = progress.add_task("tokenizing", total=len(paths))

        def documents():
            for path in paths:
                yield from read_documents(path)
                progress.advance(task)  # a file done

        return write_memmap(documents(), tokenizer, out)
