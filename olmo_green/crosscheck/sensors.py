"""The telemetry's nodes and devices against what each node's meter said it would sample.

When a node's meter starts sampling it writes a `sensors` event to events.jsonl: the sources
it probed and, for each source it uses, the devices it counts (`counted`, "domain/device"; an
MI250X secondary GCD is listed but not counted: its package is read on the primary). The
samples must match it:

- a node with samples but no sensors event never ran a meter: a chunk copied from another
  node (its node column rewritten, so its content hash differs);
- a device with samples that its node's meter does not count: a copied device (an MI250X
  sibling GCD written with its package's energy counts the package twice);
- a counted device without a single sample: its samples were removed, and the node's energy
  would miss it, unless the record says why (a sensor fault or rejected values).

No figure can be right under any of these, so `report` refuses and `--verify` names each.
Records written before the meter recorded `counted` (and traces) are not checked: their
sensors events say how many devices, not which. What tells such a record from one whose
events lost the list is the chunks: a meter that writes `counted` marks each chunk it
writes (record/chunks.py CHUNK_FORMAT), so a node with a marked chunk but no sensors event
that lists its devices had that event removed or edited, and is refused too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from olmo_green import record as rr

# Events that explain a device without samples: a source that failed, values the sampler dropped.
EXPLAINED_BY = {rr.EVENT_GAP_START, rr.EVENT_REJECTED_SAMPLES, rr.EVENT_NO_SENSORS}
COUNTED, counted_label = rr.SENSORS_COUNTED, rr.counted_label


def _counted_per_node(events: Iterable[dict]) -> tuple[set[str], dict[str, dict[str, str] | None]]:
    """Nodes with a sensors event; per node, the labels its meters count and the source that reads
    each (None: some event of the node predates `counted`, so its devices are unknown)."""
    started: set[str] = set()
    counted: dict[str, dict[str, str] | None] = {}
    for event in events:
        if event.get("kind") != rr.EVENT_SENSORS or not isinstance(event.get("found"), list):
            continue
        node = str(event.get("node", ""))
        started.add(node)
        used = [f for f in event["found"] if isinstance(f, dict) and f.get("used")]
        if not used or any(not _well_formed(f.get(COUNTED)) for f in used):
            counted[node] = None
        elif counted.get(node, {}) is not None:
            counted[node] = {**counted.get(node, {}),
                             **{label: str(f.get("source", "")) for f in used for label in f[COUNTED]}}
    return started, counted


def _well_formed(group: object) -> bool:
    """A `counted` list as the meter writes it: "domain/device" texts."""
    return isinstance(group, list) and all(isinstance(x, str) and "/" in x for x in group)


def _explained(events: Iterable[dict]) -> set[tuple[str, str]]:
    """(node, source) pairs an event says lost samples for: a source that failed or values the
    sampler dropped (its source named), or no sensor at all ("" for every source of the node)."""
    pairs = set()
    for event in events:
        if event.get("kind") == rr.EVENT_NO_SENSORS:
            pairs.add((str(event.get("node", "")), ""))
        elif event.get("kind") in EXPLAINED_BY and isinstance(event.get("source"), str) and event["source"]:
            pairs.add((str(event.get("node", "")), event["source"]))
    return pairs


def sensor_findings(events: Sequence[dict], nodes: Sequence) -> list[str]:
    """One line per node or device whose samples contradict its meter's sensors event
    (`nodes`: the report's NodeEnergy list, each with its device curves)."""
    started, counted = _counted_per_node(events)
    lines = _broken_promises(events, nodes)
    if not any(labels is not None for labels in counted.values()):
        return lines  # an older record, a trace: nothing says which devices were read
    explained = _explained(events)
    for node in nodes:
        sampled = {counted_label(c.domain, c.device): c for c in node.devices if len(c.time_s)}
        if not sampled:
            continue
        if node.node not in started:
            lines.append(f"telemetry/{node.node}.*: node {node.node} has samples but no sensors event in "
                         f"{rr.EVENTS_FILE} (every node's meter writes one when it starts): a chunk copied "
                         "from another node? Remove it")
            continue
        expected = counted.get(node.node)
        if expected is None:
            continue
        excused = {source for where, source in explained if where == node.node}
        lines += _device_lines(node.node, sampled, expected, excused)
    return lines


def _broken_promises(events: Sequence[dict], nodes: Sequence) -> list[str]:
    """Nodes whose chunks a meter marked (CHUNK_FORMAT) but whose events hold no sensors event
    listing the devices it counts: the promise the mark makes was removed from events.jsonl."""
    listed = {str(e.get("node", "")) for e in events if e.get("kind") == rr.EVENT_SENSORS
              and isinstance(e.get("found"), list)
              and any(isinstance(f, dict) and f.get("used") and _well_formed(f.get(COUNTED))
                      for f in e["found"])}
    return [f"telemetry/{node.node}.*: node {node.node}'s chunks were written by a meter that lists the "
            f"devices it counts in a sensors event (chunk format {node.chunk_format}), but {rr.EVENTS_FILE} "
            "holds no such event for it (removed or edited?): which devices it counted is unknown"
            for node in nodes if getattr(node, "chunk_format", 1) >= rr.CHUNK_FORMAT
            and node.node not in listed and any(len(c.time_s) for c in node.devices)]


def _device_lines(node: str, sampled: dict, expected: dict[str, str], excused: set[str]) -> list[str]:
    """`expected`: label -> the source that counts it; `excused`: sources an event says lost
    samples for on this node ("" for all)."""
    lines = []
    for label in sorted(set(sampled) - set(expected)):  # whatever its domain: a blanked one too
        domain, device = label.split("/", 1)
        lines.append(f"{node}/{device} ({domain}): samples in the telemetry, but {node}'s sensors event "
                     f"does not count this device (a copied or relabelled device? An MI250X secondary "
                     f"die's energy is its package's, read on the primary: the package would count twice)")
    for label in sorted(set(expected) - set(sampled)):
        if "" in excused or expected[label] in excused:
            continue
        domain, device = label.split("/", 1)
        lines.append(f"{node}/{device} ({domain}): counted by {node}'s sensors event, but the telemetry "
                     f"holds no sample of device {device} and no event of its source ({expected[label]}) "
                     "says why (samples removed?): the node's energy would miss it")
    return lines


def implausible_power_lines(nodes: Sequence, most: int = 10) -> list[str]:
    """One line per chunk whose accelerator power the summaries dropped as above the profile's
    limit (3x the package TDP): values the meter's sampler drops as it reads, so a record that
    holds them was written by something else, or edited. The figure stays right where a counter
    carries the device (it does), and the report says so; --verify fails."""
    found = [(node.node, chunk, count) for node in nodes
             for chunk, count in sorted(getattr(node, "implausible", {}).items())]
    lines = [f"{node}/{chunk}: {count:,} accelerator power value(s) above 3x the package TDP, which no "
             "sensor gives (the meter drops them as it samples): dropped, the counter or the samples "
             "beside them carry those intervals (an edited chunk?)" for node, chunk, count in found[:most]]
    if len(found) > most:
        lines.append(f"... and {len(found) - most} more chunk(s) with power above 3x the package TDP")
    return lines
