"""The participation service's routers: ``api`` (citizens) and ``admin`` (organisers)."""

__all__: list[str] = []
