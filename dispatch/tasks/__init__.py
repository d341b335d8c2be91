"""Thin Celery entry points with stable names (`dispatch.*`); each calls one service."""
