"""The verifier section of the settings, defined in :mod:`inspraak.sections.verifier`.

The section models live in the composition package so that reading the settings never
imports a service package (which would import the settings again).
"""

from inspraak.sections.verifier import VerifierSettings

__all__ = ["VerifierSettings"]
