"""The consultation service: consultations, statements, moderation, votes, participant
sessions, statement routing and rate limits (API now; pages on top later)."""

from participation.app import create_app
from participation.cli import admin_app

__all__ = ["admin_app", "create_app"]
