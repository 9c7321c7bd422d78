"""The development SAML IdP (dev mode only): DigiD- and eHerkenning-shaped test logins."""

from issuer.devidp.app import create_app

__all__ = ["create_app"]
