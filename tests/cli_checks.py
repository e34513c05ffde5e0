"""Checks of CLI results that many test modules share."""


def one_line(result, *needles: str, code: int = 2) -> str:
    """The command failed with `code` and said so in one line holding every needle, no traceback."""
    assert result.exit_code == code, result.output
    text = result.output.strip()
    assert "\n" not in text and "Traceback" not in text, text
    for needle in needles:
        assert needle in text, text
    return text
