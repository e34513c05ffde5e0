"""The telemetry layer: sensor sources, the background sampler, the per-step meter,
the run-record store and the training callback (../shared/DESIGN.md, Measurement)."""
