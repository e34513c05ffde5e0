"""Reports: run records or a trace -> RunAccount -> md, csv, json, latex.

Public API (stable; the dashboard uses it):
    account_run(run_dir, **carbon_options) -> RunAccount
    account_trace(path, **carbon_options) -> RunAccount
    account_many(run_dirs, trace=None, **carbon_options) -> list[RunAccount]
    to_json_dict(accounts) -> {"runs": [...]}   (the fixed keys of docs/design.md, Reports)
    render(accounts, fmt) -> str                 (fmt: md, csv, json, latex)
    write_report_files(run_dir, **carbon_options) -> [RUN/report.md, RUN/report.json]
carbon_options: hardware, pue, intensity_kg_per_kwh, country, intensity_series.
RunAccount.steps is a per-step table with cumulative energy and emissions.
"""

from olmo_green.reports.account import DeviceEnergy, Gaps, RunAccount
from olmo_green.reports.build import account_run
from olmo_green.reports.formats import render
from olmo_green.reports.jsonform import FIXED_KEYS, run_to_json, to_json_dict
from olmo_green.reports.many import account_many, account_trace
from olmo_green.reports.output import write_report_files

__all__ = [
    "FIXED_KEYS", "DeviceEnergy", "Gaps", "RunAccount", "account_many", "account_run",
    "account_trace", "render", "run_to_json", "to_json_dict", "write_report_files",
]
