"""participation package."""

__all__: list[str] = []
