"""The HTML report: frames and each run's series -> one self-contained page.

Pure like render/: it reads no telemetry and runs no command (commands/report.py reads
the runs and writes the page). `once` and `watch` never import it: the page's script,
the chart library (assets/, vendored with its licence) and this code load only for
`value-diag report`.
"""
