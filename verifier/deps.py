"""Small dependencies of the verifier service: what its lifespan put in the app state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from verifier.redeem import Redeemer

__all__ = ["RedeemerDep", "get_redeemer"]


async def get_redeemer(request: Request) -> Redeemer:
    """A coroutine, so that FastAPI does not run it in a worker thread on every request."""
    redeemer: Redeemer = request.state.redeemer
    return redeemer


RedeemerDep = Annotated[Redeemer, Depends(get_redeemer)]
