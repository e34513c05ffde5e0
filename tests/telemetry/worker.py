"""A process that trains nothing but writes a run record, for kill/resume tests.

    python -m tests.telemetry.worker RUN_DIR MAX_STEPS

It saves the callback's state every 3 steps to RUN_DIR/checkpoints/meter.json
(like a checkpoint) and resumes from it when present.
"""

import json
import os
import sys
import time
from pathlib import Path

from olmo_green.telemetry import EnergyCallback


def main(run_dir: str, max_steps: int) -> None:
    saved = Path(run_dir) / "checkpoints" / "meter.json"
    callback = EnergyCallback(run_dir, "lumi", simulate=True, sampling_interval_s=0.01, flush_interval_s=0.05,
                              sync_interval_steps=1)
    start = 1
    if saved.exists():
        state = json.loads(saved.read_text())
        callback.load_state_dict(state)
        start = state["last_step"] + 1
    callback.pre_train({"step": start - 1, "run_dir": run_dir})
    try:
        for step in range(start, max_steps + 1):
            callback.pre_step(step)
            time.sleep(0.02)
            callback.post_step(step, {"loss": 1.0, "tokens": 128})
            if step % 3 == 0:
                saved.parent.mkdir(exist_ok=True)
                saved.with_suffix(".tmp").write_text(json.dumps(callback.state_dict()))
                os.replace(saved.with_suffix(".tmp"), saved)
    finally:
        callback.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
