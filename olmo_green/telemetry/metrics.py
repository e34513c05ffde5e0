"""Live metrics for Prometheus: `/metrics` served by each node's sampler process.

Metrics (Prometheus naming: base units, `_total` on counters):

    olmo_green_energy_joules_total{node,device,domain}  counter  energy since this process began
                                                                  sampling (a restart is a reset)
    olmo_green_power_watts{node,device,domain}          gauge    latest power reading
    olmo_green_step{node}                               gauge    last optimizer step recorded
    olmo_green_tokens_total{node}                       counter  tokens of the steps recorded
    olmo_green_emissions_grams_total{node}              counter  this node's GPU energy x PUE x the
                                                                  headline intensity (absent if none)
    olmo_green_method_info{node,method}                 gauge 1  how the energy is measured

Values are read from the meter at scrape time (a collector), so sampling does no extra work.
Node-level energy (domain node) already includes the GPUs: filter or group by `domain`.

The server binds 127.0.0.1 unless told otherwise and answers GET /metrics only (404 elsewhere):
prometheus_client's own server would answer every path and bind all interfaces by default.
A port in use is one warning; training goes on without the endpoint.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

from olmo_green.carbon.intensity import emissions_kg
from olmo_green.telemetry.metrics_server import MetricsServer
from olmo_green.telemetry.outputs import LiveOutput, LiveSnapshot
from olmo_green.units import G_PER_KG

log = logging.getLogger(__name__)


class MeterCollector:
    """A prometheus_client collector reading a snapshot of the meter when scraped."""

    def __init__(self, snapshot: Callable[[], LiveSnapshot], kg_per_kwh: float | None) -> None:
        self.snapshot, self.kg_per_kwh = snapshot, kg_per_kwh
        self.tokens = 0.0  # trained this process, from the windows recorded

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snapshot = self.snapshot()  # taken under the meter's lock: the sampler thread feeds the tracks
        node = snapshot.node
        labels = ["node", "device", "domain"]
        energy = CounterMetricFamily("olmo_green_energy", "Energy measured since sampling began (J).",
                                     labels=labels, unit="joules")
        power = GaugeMetricFamily("olmo_green_power_watts", "Latest power reading (W).", labels=labels)
        gpu_j = 0.0
        for track in snapshot.tracks:
            energy.add_metric([node, track.device, track.domain], track.total_j)
            if not math.isnan(track.power_w):
                power.add_metric([node, track.device, track.domain], track.power_w)
            gpu_j += track.total_j if track.domain == "gpu" else 0.0
        yield energy
        yield power
        yield _one(GaugeMetricFamily, "olmo_green_step", "Last optimizer step recorded.", node,
                   snapshot.last_step)
        yield _one(CounterMetricFamily, "olmo_green_tokens", "Tokens of the steps recorded.", node,
                   self.tokens)
        if self.kg_per_kwh is not None:
            grams = emissions_kg(gpu_j, 1.0, self.kg_per_kwh) * G_PER_KG  # PUE is in the factor
            yield _one(CounterMetricFamily, "olmo_green_emissions_grams",
                       "GPU energy of this node x PUE x headline intensity (g CO2e).", node, grams)
        method = GaugeMetricFamily("olmo_green_method_info", "How the energy is measured.",
                                   labels=["node", "method"])
        method.add_metric([node, snapshot.method], 1.0)
        yield method


def _one(kind: type, name: str, documentation: str, node: str, value: float) -> Any:
    family = kind(name, documentation, labels=["node"])
    family.add_metric([node], float(value))
    return family


def metrics_only(app: Callable) -> Callable:
    """The WSGI app, answering GET /metrics and nothing else."""

    def serve(environ: dict, start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"olmo-green serves /metrics only\n"]
        return app(environ, start_response)

    return serve


class MetricsEndpoint(LiveOutput):
    """The endpoint as a live output: windows count tokens; scrapes read a fresh snapshot."""

    def __init__(self, server: MetricsServer, collector: MeterCollector) -> None:
        self.server, self.collector = server, collector  # a thread per connection, bounded close
        self.port = server.port

    @classmethod
    def start(cls, snapshot: Callable[[], LiveSnapshot], kg_per_kwh: float | None, host: str,
              port: int) -> MetricsEndpoint | None:
        """Serve the meter's metrics on host:port; None (and one warning) if that cannot be done."""
        try:
            from prometheus_client import CollectorRegistry, make_wsgi_app
        except ImportError:
            log.warning("telemetry.metrics_port needs prometheus_client: pip install "
                        "'olmo-green[prometheus]'; training continues without the endpoint")
            return None
        registry = CollectorRegistry(auto_describe=True)  # our own: never the process-wide one
        collector = MeterCollector(snapshot, kg_per_kwh)
        registry.register(collector)
        try:
            app = metrics_only(make_wsgi_app(registry))
            server = MetricsServer(host, port, app)
        except OSError as e:
            log.warning("telemetry: cannot serve metrics on %s:%s (%s); training continues without the "
                        "endpoint", host, port, e.strerror or e)
            return None
        log.info("telemetry: Prometheus metrics on http://%s:%s/metrics", host, server.port)
        return cls(server, collector)

    def on_window(self, snapshot: LiveSnapshot) -> list[dict]:
        window = snapshot.window
        tokens = window.metrics.get("tokens") if window is not None else None
        if window is not None and window.phase == "train" and isinstance(tokens, (int, float)):
            self.collector.tokens += float(tokens)
        return []

    def close(self) -> None:
        self.server.close()
