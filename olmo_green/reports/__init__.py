"""Reports: run records or a trace -> RunAccount -> md, csv, json, latex.

Public API (stable; the dashboard uses it):
    account_run(run_dir, **carbon_options) -> RunAccount
    to_json_dict(accounts) -> {"runs": [...]}   (the fixed keys of docs/design.md, Reports)
    render(accounts, fmt) -> str                 (fmt: md, csv, json, latex)
    write_report_files(run_dir, **carbon_options) -> [RUN/report.md, RUN/report.json]
A power log's account (account_trace) and several sources side by side (account_many) are
olmo_green.accounts, a layer above: it reads traces, which build on these reports.
carbon_options: hardware, pue, intensity_kg_per_kwh, country, intensity_series.
RunAccount.steps is a per-step table with cumulative energy and emissions.
"""

from olmo_green.reports.account import DeviceEnergy, Gaps, RunAccount
from olmo_green.reports.build import account_run
from olmo_green.reports.formats import render
from olmo_green.reports.jsonform import FIXED_KEYS, run_to_json, to_json_dict
from olmo_green.reports.output import write_report_files

__all__ = [
    "FIXED_KEYS", "DeviceEnergy", "Gaps", "RunAccount", "account_run", "render", "run_to_json",
    "to_json_dict", "write_report_files",
]
