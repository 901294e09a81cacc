"""Models of the landing app."""
