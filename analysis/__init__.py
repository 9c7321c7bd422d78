"""Inspraak analysis: Polis-compatible consensus engine."""

__all__: list[str] = []
