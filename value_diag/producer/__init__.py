"""The training-loop side: compute the metrics, write the telemetry, simulate runs."""
