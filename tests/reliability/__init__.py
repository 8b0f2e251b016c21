"""Cross-cutting reliability tests: bad input, NaN/Inf, long runs, checkpoints, properties."""
