"""`olmo-green train` whose background checkpoint write of one step hangs half-written.

    python -m tests.model.async_write_hangs STEP MARKER -- TRAIN ARGS...

The write of checkpoint STEP writes half a file, touches MARKER and sleeps, so that a
test can SIGKILL the process while that write is in flight (test_async_checkpoint.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from olmo_green.cli import main
from olmo_green.model import checkpoint_async
from olmo_green.model.checkpoint import step_name


def hang_at(step: int, marker: Path) -> None:
    real = checkpoint_async.write_model_optim

    def write(state, path: Path) -> None:
        if path.parent.name.startswith(step_name(step)):
            path.write_bytes(b"PK\x03\x04 half a zip file")  # the write has begun, not ended
            marker.touch()
            time.sleep(600)
        real(state, path)

    checkpoint_async.write_model_optim = write  # the worker looks it up at each save


if __name__ == "__main__":
    hang_at(int(sys.argv[1]), Path(sys.argv[2]))
    sys.argv = ["olmo-green", *sys.argv[4:]]
    main()
