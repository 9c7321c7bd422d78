"""The issuer section of the settings, defined in :mod:`inspraak.sections.issuer`.

The section models live in the composition package so that reading the settings never
imports a service package (which would import the settings again).
"""

from inspraak.sections.issuer import IssuerSettings, SamlSchemeSettings, SamlSettings

__all__ = ["IssuerSettings", "SamlSchemeSettings", "SamlSettings"]
