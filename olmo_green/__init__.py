"""olmo-green: train OLMo inside a telemetry layer; report its energy and carbon."""

__version__ = "0.1.0"
