"""Training: the shared loop (mesh, checkpoints, records) and one pure step per stage."""
