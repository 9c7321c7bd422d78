"""The issuer's routers: RFC 9578 issuance and the consultation admin API."""

__all__: list[str] = []
