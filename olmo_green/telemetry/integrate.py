"""The integration rules' old home: they are olmo_green/integrate.py, under every layer that counts
energy (telemetry, summaries, crosscheck, carbon, reports, traces). Kept so the imports of this
path (reports, dashboards, traces, benchmarks, user code) go on working; new code imports
olmo_green.integrate."""

from olmo_green.integrate import (  # noqa: F401 (re-exported)
    GAP_FACTOR,
    RESTART_BELOW,
    SOURCE_METHODS,
    EnergyCurve,
    bucket_of,
    counter_deltas_j,
    counter_step_j,
    counter_values,
    curve_from_samples,
    curves_from_samples,
    default_max_gap_s,
    device_slices,
    interval_j,
    method_for,
    trapezoid_j,
    trapezoid_step_j,
    uses_counter,
)
