"""issuer package."""

__all__: list[str] = []
