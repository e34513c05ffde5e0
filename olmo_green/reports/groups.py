"""Runs rolled up by a tag's value (`report RUN... --by stage`), Morrison et al. 2025 style.

Development runs (ablations, sweeps, failed starts) cost about half of the final
runs in that paper; a project sees its own split by tagging runs
(`train --tag stage=development`) and grouping on the tag. A run without the
tag falls into the group whose value is None, shown "untagged".

A group's water or embodied carbon is None when any of its runs lacks the
factor: a sum over the runs that have it would understate the group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from olmo_green.errors import ConfigError
from olmo_green.reports.account import RunAccount
from olmo_green.reports.mdtable import markdown_row

UNTAGGED = "untagged"


@dataclass(frozen=True)
class Group:
    """The runs sharing one value of a tag, and their totals."""

    key: str
    value: str | None  # None: the runs without the tag
    runs: tuple[str, ...]
    gpu_hours: float
    gpu_energy_mwh: float
    emissions_tco2eq: float
    water_kl: float | None
    embodied_tco2eq: float | None

    @property
    def label(self) -> str:
        return UNTAGGED if self.value is None else self.value


def _sum_or_none(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(values)


def _group(key: str, value: str | None, members: Sequence[RunAccount]) -> Group:
    holistic = [a.holistic for a in members]
    return Group(key=key, value=value, runs=tuple(a.name for a in members),
                 gpu_hours=sum(h.device_hours for h in holistic if h is not None),
                 gpu_energy_mwh=sum(a.gpu_energy_mwh for a in members),
                 emissions_tco2eq=sum(a.emissions_tco2eq for a in members),
                 water_kl=_sum_or_none([h.water_kl if h else None for h in holistic]),
                 embodied_tco2eq=_sum_or_none([h.embodied_tco2eq if h else None for h in holistic]))


def group_by(accounts: Sequence[RunAccount], key: str) -> list[Group]:
    """One group per value of tag `key`, in the order runs give them, untagged last."""
    if not any(key in a.tags for a in accounts):
        present = sorted({k for a in accounts for k in a.tags})
        have = ", ".join(present) if present else "none (tag runs with `olmo-green train --tag KEY=VALUE`)"
        raise ConfigError(f"--by {key}: no run has the tag {key!r}; tags present: {have}")
    values = list(dict.fromkeys(a.tags.get(key) for a in accounts if key in a.tags))
    if any(key not in a.tags for a in accounts):
        values.append(None)
    return [_group(key, v, [a for a in accounts if a.tags.get(key) == v]) for v in values]


def total(groups: Sequence[Group]) -> Group:
    """The total row: every run of every group."""
    key = groups[0].key if groups else ""
    return Group(key=key, value="total", runs=tuple(r for g in groups for r in g.runs),
                 gpu_hours=sum(g.gpu_hours for g in groups),
                 gpu_energy_mwh=sum(g.gpu_energy_mwh for g in groups),
                 emissions_tco2eq=sum(g.emissions_tco2eq for g in groups),
                 water_kl=_sum_or_none([g.water_kl for g in groups]),
                 embodied_tco2eq=_sum_or_none([g.embodied_tco2eq for g in groups]))


def group_to_json(group: Group) -> dict:
    """One object of the top-level `groups` list (docs/design.md, fixed keys)."""
    return {"key": group.key, "value": group.value, "runs": list(group.runs), "gpu_hours": group.gpu_hours,
            "gpu_energy_mwh": group.gpu_energy_mwh, "emissions_tco2eq": group.emissions_tco2eq,
            "water_kl": group.water_kl, "embodied_tco2eq": group.embodied_tco2eq}


GROUP_HEADER = ["{key}", "Runs", "GPU-hours", "GPU energy (MWh)", "Emissions (tCO2eq)", "Water (kL)",
                "Embodied (tCO2eq)"]


def _cell(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def group_cells(group: Group) -> list[str]:
    hours = f"{group.gpu_hours:,.0f}" if group.gpu_hours >= 1000 else _cell(group.gpu_hours)
    return [group.label, str(len(group.runs)), hours, _cell(group.gpu_energy_mwh),
            _cell(group.emissions_tco2eq), _cell(group.water_kl), _cell(group.embodied_tco2eq)]


def group_rows(accounts: Sequence[RunAccount], key: str) -> tuple[list[str], list[list[str]]]:
    """The rollup table's header and rows, the total row last."""
    groups = group_by(accounts, key)
    header = [h.format(key=key) for h in GROUP_HEADER]
    return header, [group_cells(g) for g in groups] + [group_cells(total(groups))]


def groups_markdown(accounts: Sequence[RunAccount], key: str) -> list[str]:
    header, rows = group_rows(accounts, key)
    # a tag value (or key) is the user's text: a `|` in it must not split the row (issue 24)
    lines = [f"## By {key}", "", markdown_row(header), "|" + "---|" * len(header)]
    lines += [markdown_row(r) for r in rows]
    lines += ["", "Emissions are each run's headline (its own basis); water and embodied carbon are n/a "
              "for a group when any of its runs has no factor for them; neither is added to the emissions.",
              ""]
    return lines
