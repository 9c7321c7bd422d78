"""verifier package."""

__all__: list[str] = []
