"""The HTTP endpoints the pipeline serves itself: the future API's instant orders, which are sent while
the client waits (mounted under ``/notifications/api/v1/future/``)."""
