"""DP-SGD training and evaluation of the decoder."""
