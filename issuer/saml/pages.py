"""The few pages the SAML side shows itself: cancelled, failed, and the POST-binding hand-off.

Every page is B1 Dutch with English below it, ``lang="nl"`` and no script. Templates do no
I/O; the routes hand them plain strings, and Jinja escapes them.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["MESSAGES", "render_page", "render_post_form"]

_ENV = Environment(
    loader=PackageLoader("issuer.saml", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)

MESSAGES: dict[str, tuple[str, str, str, str]] = {
    # key: (Dutch title, Dutch text, English title, English text)
    "cancelled": (
        "U heeft het inloggen gestopt",
        "U bent niet ingelogd. Wilt u toch meedoen? Probeer het dan opnieuw.",
        "You cancelled the login",
        "You are not logged in. Do you still want to take part? Then please try again.",
    ),
    "invalid": (
        "Inloggen is niet gelukt",
        "Wij konden uw inlog niet controleren. Probeer het opnieuw. "
        "Lukt het weer niet? Neem dan contact met ons op.",
        "Login failed",
        "We could not check your login. Please try again. If it fails again, please contact us.",
    ),
    "malformed": (
        "Dit bericht klopt niet",
        "Wij kregen een bericht dat wij niet kunnen lezen. U bent niet ingelogd. "
        "Probeer het opnieuw.",
        "This message is not valid",
        "We received a message we cannot read. You are not logged in. Please try again.",
    ),
    "level": (
        "Uw inlogmiddel is niet sterk genoeg",
        "Voor deze raadpleging moet u inloggen met een hoger niveau. "
        "Log opnieuw in en kies een sterker inlogmiddel.",
        "Your login method is not strong enough",
        "This consultation needs a higher assurance level. Please log in again at a higher level.",
    ),
    "scheme": (
        "Deze inlogmethode past niet bij deze raadpleging",
        "Voor deze raadpleging kunt u niet op deze manier inloggen. Kies een andere manier.",
        "This login method does not fit this consultation",
        "You cannot log in this way for this consultation. Please choose another way.",
    ),
    "bad_request": (
        "Deze link klopt niet",
        "De link om in te loggen is niet goed. Ga terug en probeer het opnieuw.",
        "This link is not valid",
        "The login link is not valid. Please go back and try again.",
    ),
    "not_found": (
        "Deze pagina bestaat niet",
        "Deze inlogmethode kennen wij niet.",
        "This page does not exist",
        "We do not know this login method.",
    ),
    "unavailable": (
        "Inloggen lukt nu niet",
        "Wij kunnen de inlogdienst nu niet bereiken. Probeer het later opnieuw.",
        "Login is not available right now",
        "We cannot reach the login service right now. Please try again later.",
    ),
}


def render_page(message: str, *, back_url: str | None = None) -> str:
    """A bilingual message page."""
    nl_title, nl_text, en_title, en_text = MESSAGES[message]
    return _ENV.get_template("message.html").render(
        nl_title=nl_title, nl_text=nl_text, en_title=en_title, en_text=en_text, back_url=back_url
    )


def render_post_form(action: str, fields: dict[str, str]) -> str:
    """The HTTP-POST binding hand-off: a form the person sends with one button (no script)."""
    return _ENV.get_template("post_form.html").render(action=action, fields=fields)
