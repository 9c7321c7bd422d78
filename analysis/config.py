"""The analysis section of the settings, defined in :mod:`inspraak.sections.analysis`.

The section models live in the composition package so that reading the settings never
imports a service package (which would import the settings again).
"""

from inspraak.sections.analysis import AnalysisSettings

__all__ = ["AnalysisSettings"]
