"""A fake training loop that drives the callback hooks (no model needed)."""

import time

SLEEP_S = 0.004


def run_hooks(callback, steps: range, eval_every: int = 5, save_every: int = 7, state: dict | None = None):
    callback.pre_train(state or {})
    try:
        for step in steps:
            callback.pre_step(step)
            time.sleep(SLEEP_S)
            callback.post_step(step, {"loss": 2.0, "lr": 1e-3, "tokens": 512})
            if step % eval_every == 0:
                callback.pre_eval(step)
                time.sleep(SLEEP_S)
                callback.post_eval(step, {"eval/loss": 2.1})
            if step % save_every == 0:
                callback.pre_checkpoint(step)
                time.sleep(SLEEP_S)
                callback.post_checkpoint(step, "ckpt")
    finally:
        callback.close()
