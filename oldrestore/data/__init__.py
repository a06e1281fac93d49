"""Image sources, dataset builders, the input pipeline and the degradation model."""
