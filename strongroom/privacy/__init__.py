"""Privacy accounting and DP-SGD planning: pure math, no training state."""
