"""One rank of a 2-process gloo group on CPU: python -m tests.telemetry.dist_worker RUN_DIR NODE."""

import os
import sys
import time

import torch.distributed as dist

from olmo_green.telemetry import EnergyCallback


def main(run_dir: str, node: str) -> None:
    dist.init_process_group("gloo")
    callback = EnergyCallback(run_dir, "lumi", simulate=True, sampling_interval_s=0.01, node=node,
                              sync_interval_steps=2)
    callback.pre_train({"step": 0})
    for step in range(1, 7):
        callback.pre_step(step)
        time.sleep(0.01)
        callback.post_step(step, {"tokens": 64})
    callback.close()
    status = callback.live_status()
    print(f"RANK{os.environ['RANK']} energy_j={status['energy_kwh'] * 3.6e6!r}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
