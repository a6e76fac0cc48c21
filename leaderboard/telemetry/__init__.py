"""Live telemetry: the coding agents' own OpenTelemetry metrics and events, over OTLP/HTTP.

``tokens`` (ingest tokens), ``otlp`` (bodies and answers on the wire), ``agents`` (what each agent's
metrics and events mean), ``reading`` (a request into typed readings), ``receiving`` (the receiver:
check, keep, answer) and ``folding`` (batches into usage, in bulk, by the Celery task).
"""
