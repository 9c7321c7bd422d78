"""Who runs a deployment: the ``organisation`` section of the Settings.

The privacy statement (``/privacy``) and the accessibility statement
(``/toegankelijkheid``) name the organisation from these fields. Article 13 AVG requires
the controller's identity and contact details, the data protection officer's contact and
the retention period *before* the data are collected, so a deployment without them is
reported by ``inspraak audit`` (``audit:config.privacy-statement-incomplete``).
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, HttpUrl

__all__ = ["REQUIRED_FOR_ARTICLE_13", "OrganisationSettings"]

REQUIRED_FOR_ARTICLE_13: Final = ("name", "contact", "privacy_officer", "retention")
"""The fields without which the privacy statement does not give what art. 13 AVG asks."""


class OrganisationSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_ORGANISATION__<FIELD>``; every text is shown as given."""

    name: str = ""
    """The controller (verwerkingsverantwoordelijke), e.g. ``Gemeente Voorbeeld``."""
    address: str = ""
    """Its postal address."""
    contact: str = ""
    """Where citizens send questions and requests about their data: e-mail, phone or web form."""
    privacy_officer: str = ""
    """How to reach the data protection officer (functionaris gegevensbescherming)."""
    retention: str = ""
    """How long votes, statements and the issuance ledger are kept, in Dutch, e.g.
    ``tot drie maanden na het einde van de raadpleging``."""
    retention_en: str = ""
    """The same in English; the Dutch text is shown when this is empty."""
    accessibility_statement_url: HttpUrl | None = None
    """The organisation's entry in the register of accessibility statements
    (toegankelijkheidsverklaring.nl), linked from ``/toegankelijkheid``."""

    def missing(self) -> tuple[str, ...]:
        """The article-13 fields that are still empty, in the order of
        :data:`REQUIRED_FOR_ARTICLE_13`."""
        return tuple(name for name in REQUIRED_FOR_ARTICLE_13 if not getattr(self, name).strip())
