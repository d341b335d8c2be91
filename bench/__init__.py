"""Benchmarks of the notification service against the limits of the machine it runs on.

``python -m bench`` (or ``make bench``) starts the production configuration on private servers, runs every
workload with its baseline measured in the same run, prints a table and writes
``bench/results/latest.json``. ``python -m bench --smoke`` runs every workload at tiny sizes (the CI
check that the harness still works); ``--quick`` uses smaller sizes than the default.

The older single-purpose scripts (``large_order.py``, ``send_rate.py``, ``registry_import.py``) still run
on their own; the harness reuses their setup and measuring code.
"""
