"""Mistakes a newcomer makes on the README's first command are one line, exit code 2, no traceback."""

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli


@pytest.mark.parametrize("args, says", [
    (["--max-steps", "0"], "max_steps must be positive"),
    (["--run-dir", "{file}/run"], "cannot create the run directory"),
    (["--hardware", "lumi-g"], "unknown hardware profile"),
    (["--resume"], "--resume needs --run-dir"),
    (["--max-steps", "fifty"], "'fifty' is not a valid integer"),
    (["--max-step", "50"], "Did you mean '--max-steps'?"),
])
def test_newcomer_mistakes_are_one_line(tmp_path, args, says):
    (tmp_path / "file").write_text("a file where a folder should be")
    args = [a.format(file=tmp_path / "file") for a in args]
    result = CliRunner().invoke(cli, ["train", "--hardware", "lumi", "--simulate", *args])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and says in result.output and "Traceback" not in result.output
