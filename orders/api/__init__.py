"""The v1 REST API of the orders app (views, serializers, URL list)."""
