"""Local stand-ins for the providers, speaking the real protocols on 127.0.0.1 (tests and benchmarks)."""
