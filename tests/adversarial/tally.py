"""Print the hostile pass's counts per class: `python -m tests.adversarial.tally [-v]`."""

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.adversarial.harness import CLASSES, SIMULATOR_REJECTS, make_record, run_case
from tests.adversarial.table import CASES


def main() -> None:
    verbose = "-v" in sys.argv
    counts, start = Counter(), time.time()
    with tempfile.TemporaryDirectory() as root:
        record = make_record(Path(root))
        for i, case in enumerate(CASES):
            tmp = Path(root) / f"case{i}"
            tmp.mkdir()
            verdict, said = run_case(case, tmp, record)
            counts[verdict] += 1
            if verbose or verdict != "OK":
                print(f"{verdict:9} {case.id}{'  (xfail: ' + case.xfail + ')' if case.xfail else ''}: {said}")
    for reject in SIMULATOR_REJECTS:
        print(f"finding: a simulated record failed its own --verify and was trained again: {reject}")
    print(
        f"{len(CASES)} cases in {time.time() - start:.0f} s: "
        + " / ".join(f"{k} {counts[k]}" for k in CLASSES)
    )


if __name__ == "__main__":
    main()
