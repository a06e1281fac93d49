"""Networks, one per file. All take and return NHWC arrays; images are in [-1, 1]."""
