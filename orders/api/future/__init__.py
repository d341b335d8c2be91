"""The newer API of the service we replace, under ``/notifications/api/v1/future``: order chains with
reminders, instant orders, shipments (delivery manifests) and the status feed."""
