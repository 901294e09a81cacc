"""Models of the leadscoring app."""
