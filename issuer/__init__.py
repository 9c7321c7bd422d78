"""The token issuer: SAML login, eligibility policies, the issuance ledger and RFC 9578."""

from issuer.app import create_app
from issuer.eligibility import BrpSource, DevBrpSource
from issuer.errors import IneligibleReason, IssuerError
from issuer.issuance import IssuanceService
from issuer.keys import KeyManager
from issuer.policy import BrpConditions, BrpFacts, Policy
from issuer.services import ConsultationAdmin

__all__ = [
    "BrpConditions",
    "BrpFacts",
    "BrpSource",
    "ConsultationAdmin",
    "DevBrpSource",
    "IneligibleReason",
    "IssuanceService",
    "IssuerError",
    "KeyManager",
    "Policy",
    "create_app",
]
