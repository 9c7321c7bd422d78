"""Privacy Pass and RSA blind signatures (RFC 9474, 9577, 9578): the pure protocol core."""

__all__: list[str] = []
