"""Live figures of the gig markets, kept as integer counters."""
