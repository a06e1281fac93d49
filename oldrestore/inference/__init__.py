"""Running trained networks on photos of any size."""
