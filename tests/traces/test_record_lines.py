"""A record trace's refusals name FILE:LINE wherever the row falls: across batches and Arrow blocks."""

from __future__ import annotations

import pandas as pd
import pytest

from olmo_green.errors import GreenError
from olmo_green.traces.formats import TraceOptions, arrowcsv, open_trace
from olmo_green.traces.read import read_traces

T0 = 1_700_000_000


def rows(n: int = 40, devices: int = 2) -> list[str]:
    """Time-major rows: line k+2 is row k (line 1 is the header)."""
    return [f"{T0 + i // devices},{i % devices},{300 + i % 7}.0" for i in range(n * devices)]


def write(tmp_path, body: list[str]):
    path = tmp_path / "t.csv"
    path.write_text("\n".join(["time_s,device,power_w", *body]) + "\n")
    return path


def consume(path, batch_rows: int = 7) -> pd.DataFrame:
    opened = open_trace(path, "record", TraceOptions(batch_rows=batch_rows))
    return pd.concat(list(opened.batches))


@pytest.fixture(params=[False, True], ids=["one_block", "many_blocks"])
def blocks(request, monkeypatch):
    if request.param:  # Arrow reads ~3 rows a block: lines must carry across blocks, not restart
        monkeypatch.setattr(arrowcsv, "BLOCK_BYTES", 64)


@pytest.mark.parametrize("line, row, says", [
    (57, f"{T0 + 27},1,-4", "negative power"),
    (61, f"{T0 + 29},1,inf", "infinite"),
    (44, f"{T0 + 21},0,1e9", "above any accelerator"),
    (70, f"{T0 + 1},0,300.0", "time goes back"),
    (33, f"{T0 + 15},1,999.0", "repeats"),  # put before device 1's row at T0+15, which moves to line 34
])
def test_the_line_named_is_the_bad_rows(tmp_path, blocks, line, row, says):
    body = rows()
    if says == "repeats":
        body.insert(line - 2, row)  # the clash is the second of the two rows at one time
        line += 1
    else:
        body[line - 2] = row
    with pytest.raises(GreenError, match=rf"t\.csv:{line}: .*{says}"):
        consume(write(tmp_path, body))


def test_lines_after_a_dropped_row_stay_true(tmp_path, blocks):
    body = rows()
    # line 12: an unreadable number, dropped and counted; rows after it keep their own lines. (A line
    # Arrow itself skips, blank or with the wrong number of fields, is not placed: Arrow does not say
    # where it was, so a line named after one in the same block may be early; record.py says so.)
    body[10] = f"{T0 + 5},0,abc"
    body[19] = f"{T0},1,300.0"  # line 21: device 1 goes back
    with pytest.raises(GreenError, match=r"t\.csv:21: .*time goes back"):
        consume(write(tmp_path, body))


def test_a_gap_beside_a_reading_at_one_time_is_no_clash(tmp_path):
    body = rows()
    body.insert(4, f"{T0 + 2},0,")  # an empty reading at the time device 0 also has one
    assert len(consume(write(tmp_path, body))) == len(body)


def test_a_single_sample_names_its_line_through_the_report_path(tmp_path):
    body = rows() + [f"{T0 + 5},9,300.0"]
    with pytest.raises(GreenError, match=rf"t\.csv:{len(body) + 1}: device 9 has a single sample"):
        read_traces([write(tmp_path, body)])
