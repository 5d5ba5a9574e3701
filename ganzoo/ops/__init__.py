"""The fused ops' Python face: each op beside its pure-PyTorch reference."""
