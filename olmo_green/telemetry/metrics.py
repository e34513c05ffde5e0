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
from typing import TYPE_CHECKING, Any

from olmo_green.telemetry.metrics_server import MetricsServer

if TYPE_CHECKING:
    from olmo_green.telemetry.live import LiveOutputs

log = logging.getLogger(__name__)
J_PER_KWH = 3.6e6


class MeterCollector:
    """A prometheus_client collector reading the meter's tracks and totals when scraped."""

    def __init__(self, live: LiveOutputs) -> None:
        self.live = live

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        meter = self.live.meter
        node = meter.group.node if meter.group is not None else "local"
        labels = ["node", "device", "domain"]
        energy = CounterMetricFamily("olmo_green_energy", "Energy measured since sampling began (J).",
                                     labels=labels, unit="joules")
        power = GaugeMetricFamily("olmo_green_power_watts", "Latest power reading (W).", labels=labels)
        gpu_j = 0.0
        with meter._lock:  # the sampler thread feeds the tracks
            tracks = [(key, t.total_j, t.power_w) for key, t in meter.ledger.tracks.items()]
            step = meter.ledger.last_step
        for (device, domain), total_j, power_w in tracks:
            energy.add_metric([node, device, domain], total_j)
            if not math.isnan(power_w):
                power.add_metric([node, device, domain], power_w)
            gpu_j += total_j if domain == "gpu" else 0.0
        yield energy
        yield power
        yield _one(GaugeMetricFamily, "olmo_green_step", "Last optimizer step recorded.", node, step)
        yield _one(CounterMetricFamily, "olmo_green_tokens", "Tokens of the steps recorded.", node,
                   self.live.tokens)
        if self.live.kg_per_kwh is not None:
            grams = gpu_j / J_PER_KWH * self.live.kg_per_kwh * 1000.0
            yield _one(CounterMetricFamily, "olmo_green_emissions_grams",
                       "GPU energy of this node x PUE x headline intensity (g CO2e).", node, grams)
        method = GaugeMetricFamily("olmo_green_method_info", "How the energy is measured.",
                                   labels=["node", "method"])
        method.add_metric([node, meter.method], 1.0)
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


class MetricsEndpoint:
    def __init__(self, server: MetricsServer) -> None:
        self.server = server  # a thread per connection, bounded close (metrics_server.py)
        self.port = server.port

    @classmethod
    def start(cls, live: LiveOutputs, host: str, port: int) -> MetricsEndpoint | None:
        """Serve the meter's metrics on host:port; None (and one warning) if that cannot be done."""
        try:
            from prometheus_client import CollectorRegistry, make_wsgi_app
        except ImportError:
            log.warning("telemetry.metrics_port needs prometheus_client: pip install "
                        "'olmo-green[prometheus]'; training continues without the endpoint")
            return None
        registry = CollectorRegistry(auto_describe=True)  # our own: never the process-wide one
        registry.register(MeterCollector(live))
        try:
            app = metrics_only(make_wsgi_app(registry))
            server = MetricsServer(host, port, app)
        except OSError as e:
            log.warning("telemetry: cannot serve metrics on %s:%s (%s); training continues without the "
                        "endpoint", host, port, e.strerror or e)
            return None
        log.info("telemetry: Prometheus metrics on http://%s:%s/metrics", host, server.port)
        return cls(server)

    def close(self) -> None:
        self.server.close()
