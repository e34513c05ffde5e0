"""Small helpers shared by the verb modules."""

from olmo_green.errors import NotBuiltError


def not_built(verb: str, issue: int) -> None:
    """Say that a verb is not built yet, instead of pretending (exit code 3)."""
    raise NotBuiltError(f"`olmo-green {verb}` is not built yet (tracked in issue {issue}).")
