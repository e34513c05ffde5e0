"""`model-card -o README.md` over an existing card: update our parts in place, keep the user's text.

A Hub model card is YAML front matter between two `---` lines, then Markdown
(huggingface.co/docs/hub/model-cards; huggingface_hub's `metadata_load` reads the block between
the first two `---` lines). We own two things in it: the front matter's top-level
`co2_eq_emissions` key and the `## Environmental impact` section (its heading down to the next
heading of level 1 or 2). Everything else, front matter keys included, is kept byte for byte:
the front matter is edited as lines, not re-dumped, and the edit is checked by parsing it back
(every other key must load as before). A README whose front matter does not parse as a YAML
mapping is refused in one line and not touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

from olmo_green.errors import InputFileError
from olmo_green.reports.account import RunAccount
from olmo_green.reports.modelcard import SECTION_TITLE, front_matter, impact_section

OUR_KEY = "co2_eq_emissions"
FENCE = re.compile(r"^\s*(```|~~~)")
TOP_HEADING = re.compile(r"^#{1,2}\s")


def merge_card(existing: str, accounts: Sequence[RunAccount], where: str) -> str:
    """`existing` (a README's text) with our front matter key and section updated or added."""
    newline = "\r\n" if "\r\n" in existing else "\n"
    lines = existing.splitlines(keepends=True)
    meta = front_matter(accounts)
    head, body = _split_front_matter(lines, where)
    if head is None:
        block = yaml.safe_dump(meta, sort_keys=False).splitlines()
        head_lines = [f"---{newline}", *[f"{b}{newline}" for b in block], f"---{newline}"]
    else:
        head_lines = _updated_front_matter(head, meta, newline, where)
    return "".join(head_lines + _updated_body(body, accounts, newline))


def _split_front_matter(lines: list[str], where: str) -> tuple[list[str] | None, list[str]]:
    """(the lines between the `---` fences, or None without front matter; the rest with its fences)."""
    if not lines or lines[0].rstrip("\r\n") != "---":
        return None, lines
    for end in range(1, len(lines)):
        if lines[end].rstrip("\r\n") == "---":
            head = lines[1:end]
            _load_mapping("".join(head), where)
            return head, lines[end + 1:]
    raise InputFileError(f"{where}: its YAML front matter has no closing `---` line; fix the README, "
                         "or write the card elsewhere (-o OTHER.md)")


def _load_mapping(text: str, where: str) -> dict:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputFileError(f"{where}: its YAML front matter does not parse ({first}); fix it, or write "
                             "the card elsewhere (-o OTHER.md)") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{where}: its front matter is not a YAML mapping (key: value lines); fix it, "
                             "or write the card elsewhere (-o OTHER.md)")
    return data


def _updated_front_matter(head: list[str], meta: dict, newline: str, where: str) -> list[str]:
    """The front matter lines with our key's block replaced (or added), the `---` fences around them;
    `tags` is only added where the user has none, never edited."""
    before = _load_mapping("".join(head), where)
    start, stop = _key_block(head, OUR_KEY)
    ours = {OUR_KEY: meta[OUR_KEY]} if "tags" in before else meta
    block = [f"{b}{newline}" for b in yaml.safe_dump(ours, sort_keys=False).splitlines()]
    if head and not head[-1].endswith("\n"):
        head = [*head[:-1], head[-1] + newline]
    lines = head[:start] + block + head[stop:] if start is not None else head + block
    expected = {**before, **ours}
    if _load_mapping("".join(lines), where) != expected:  # the edit changed another key: refuse it
        raise InputFileError(f"{where}: its front matter's {OUR_KEY} cannot be replaced line by line "
                             "(flow style or anchors?); move it to a plain `key:` block, or use -o OTHER.md")
    return [f"---{newline}", *lines, f"---{newline}"]


def _key_block(head: list[str], key: str) -> tuple[int | None, int]:
    """Line range of a top-level key and its indented (or `- `) continuation lines."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for i, line in enumerate(head):
        if pattern.match(line):
            stop = i + 1
            while stop < len(head) and (not head[stop].strip() or head[stop][0] in " \t-#"):
                stop += 1
            return i, stop
    return None, 0


def _updated_body(body: list[str], accounts: Sequence[RunAccount], newline: str) -> list[str]:
    """The Markdown with the Environmental impact section replaced, or appended at the end."""
    section = [f"{line}{newline}" for line in impact_section(accounts)]
    start = stop = None
    fenced = False
    for i, line in enumerate(body):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and start is None and line.rstrip("\r\n").rstrip() == SECTION_TITLE:
            start = i
        elif not fenced and start is not None and TOP_HEADING.match(line):
            stop = i
            break
    if start is None:
        tail = body[:]
        if tail and not tail[-1].endswith("\n"):
            tail[-1] += newline
        return tail + ([newline] if tail and tail[-1].strip() else []) + section
    stop = len(body) if stop is None else stop
    spacer = [newline] if stop < len(body) else []
    return body[:start] + section + spacer + body[stop:]
