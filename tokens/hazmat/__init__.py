"""Hazardous materials: raw RFC 9474 steps. Services never import this."""

__all__: list[str] = []
