"""Hazardous materials: the raw RFC 9474 steps, with randomness chosen by the caller.

WARNING: these functions take the salt, the blind ``r`` and the message prefix as
arguments. Reusing or choosing them badly breaks unlinkability or leaks the message.
They exist for test vectors and interop tests only. Services never import this package
(``tests/test_architecture.py`` checks it); use the recipes in ``tokens`` instead.
"""

from ._blind import blind_from_parts, prepare_from_parts
from ._pss import HASH_LEN, emsa_pss_encode, emsa_pss_verify, mgf1_sha384

__all__ = [
    "HASH_LEN",
    "blind_from_parts",
    "emsa_pss_encode",
    "emsa_pss_verify",
    "mgf1_sha384",
    "prepare_from_parts",
]
