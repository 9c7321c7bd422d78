"""The participation section of the settings, defined in :mod:`inspraak.sections.participation`.

The section models live in the composition package so that reading the settings never
imports a service package (which would import the settings again).
"""

from inspraak.sections.participation import ParticipationLink, ParticipationSettings

__all__ = ["ParticipationLink", "ParticipationSettings"]
