"""Demo data: a reproducible data set, the demo's marketing definitions and its users (`make run`)."""
