"""Pipeline services: order processing (claim, condition, lookup, generate), sending, reports, sweeps."""
