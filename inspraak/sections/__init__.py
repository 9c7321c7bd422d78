"""Per-service sections of :class:`inspraak.settings.Settings` (pydantic only, no services)."""

__all__: list[str] = []
