"""One module per course exercise; each defines `EXPERIMENT` (see tamrin.registry)."""
