"""Checks of CLI results, and CLI runs, that many test modules share."""


def one_line(result, *needles: str, code: int = 2) -> str:
    """The command failed with `code` and said so in one line holding every needle, no traceback."""
    assert result.exit_code == code, result.output
    text = result.output.strip()
    assert "\n" not in text and "Traceback" not in text, text
    for needle in needles:
        assert needle in text, text
    return text


def simulated_train(run, hardware: str, max_steps: int, *settings: str):
    """`olmo-green train --simulate` into `run` (in-process), with each setting as `--set KEY=VALUE` and no
    progress bar; it must succeed. Returns the click result."""
    from click.testing import CliRunner

    from olmo_green.cli import cli

    args = ["train", "--hardware", hardware, "--simulate", "--max-steps", str(max_steps),
            "--run-dir", str(run)]
    for setting in (*settings, "progress=false"):
        args += ["--set", setting]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result
