"""RFC 9474 blind RSA: Appendix A vectors, cryptography cross-checks, key and fault checks."""

from __future__ import annotations

import secrets
from typing import Any

import gmpy2
import pytest
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

import tokens
from tests.tokens.helpers import VARIANTS, ScriptedRng, flip, rfc9474_key
from tests.vectors import load_vectors
from tokens.hazmat import (
    blind_from_parts,
    emsa_pss_encode,
    emsa_pss_verify,
    prepare_from_parts,
)


def _blinding_sets() -> list[Any]:
    """Each RFC 9474 vector, plus A.4 with the alternative inv used by circl / jedisct1."""
    cases = []
    for v in load_vectors("rfc9474.json"):
        cases.append(pytest.param(v, v, id=v["name"]))
        if alt := v.get("alt_blinding_in_impl_json"):
            cases.append(pytest.param(v, {**v, **alt}, id=v["name"] + "-alt-inv"))
    return cases


def h(v: dict[str, Any], key: str) -> bytes:
    return bytes.fromhex(v[key])


def cryptography_verify(
    public_key: rsa.RSAPublicKey, variant: tokens.Variant, msg: bytes, sig: bytes
) -> None:
    """Independent check: OpenSSL's RSASSA-PSS verify through cryptography."""
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=variant.salt_len)
    public_key.verify(sig, msg, pss, hashes.SHA384())


@pytest.mark.parametrize(("v", "blinding"), _blinding_sets())
def test_rfc9474_vector(v: dict[str, Any], blinding: dict[str, Any]) -> None:
    variant = VARIANTS[v["name"]]
    key = rfc9474_key(v)
    public_key = key.public_key()
    n = public_key.public_numbers().n
    assert variant.salt_len == int(v["salt_len"])

    prepared = prepare_from_parts(variant, h(v, "msg"), msg_prefix=h(v, "msg_prefix"))
    assert prepared == h(v, "prepared_msg")
    assert emsa_pss_encode(prepared, n.bit_length() - 1, h(v, "salt")) == h(v, "encoded_msg")

    r = pow(int(blinding["inv"], 16), -1, n)
    blinded_msg, inv = blind_from_parts(variant, public_key, prepared, salt=h(v, "salt"), r=r)
    assert blinded_msg == h(blinding, "blinded_msg")
    assert inv == h(blinding, "inv")

    blind_sig = tokens.blind_sign(key, blinded_msg)
    assert blind_sig == h(blinding, "blind_sig")
    sig = tokens.finalize(variant, public_key, prepared, blind_sig, inv)
    assert sig == h(v, "sig")
    tokens.verify(variant, public_key, prepared, sig)
    cryptography_verify(public_key, variant, prepared, sig)


@pytest.mark.parametrize(("v", "blinding"), _blinding_sets())
def test_rfc9474_vector_flipped_byte_raises(v: dict[str, Any], blinding: dict[str, Any]) -> None:
    variant = VARIANTS[v["name"]]
    public_key = rfc9474_key(v).public_key()
    prepared, sig = h(v, "prepared_msg"), h(v, "sig")
    with pytest.raises(tokens.InvalidSignature):
        tokens.finalize(
            variant, public_key, prepared, flip(h(blinding, "blind_sig"), 100), h(blinding, "inv")
        )
    with pytest.raises(tokens.InvalidSignature):
        tokens.verify(variant, public_key, prepared, flip(sig, 7))
    with pytest.raises(tokens.InvalidSignature):
        tokens.verify(variant, public_key, flip(prepared, 0), sig)
    with pytest.raises(CryptographyInvalidSignature):
        cryptography_verify(public_key, variant, prepared, flip(sig, 7))


def test_rfc9474_vector_under_the_other_salt_length_fails() -> None:
    """A PSS (salt 48) signature must not verify as PSSZERO, and the other way round."""
    for v in load_vectors("rfc9474.json"):
        variant = VARIANTS[v["name"]]
        other = next(
            w
            for w in VARIANTS.values()
            if w.salt_len != variant.salt_len and w.randomized == variant.randomized
        )
        with pytest.raises(tokens.InvalidSignature):
            tokens.verify(other, rfc9474_key(v).public_key(), h(v, "prepared_msg"), h(v, "sig"))


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=lambda v: v.name)
def test_round_trip_with_a_2048_bit_key(
    variant: tokens.Variant, private_key: rsa.RSAPrivateKey, signer: tokens.BlindSigner
) -> None:
    public_key = private_key.public_key()
    msg = b"inspraak: one person, one voice"
    prepared = tokens.prepare(variant, msg)
    assert prepared.endswith(msg)
    assert len(prepared) == len(msg) + (32 if variant.randomized else 0)
    blinded_msg, inv = tokens.blind(variant, public_key, prepared)
    assert len(blinded_msg) == len(inv) == 256
    blind_sig = tokens.blind_sign(signer, blinded_msg)
    sig = tokens.finalize(variant, public_key, prepared, blind_sig, inv)
    tokens.verify(variant, public_key, prepared, sig)
    cryptography_verify(public_key, variant, prepared, sig)
    # Blinding hides the message: a second blinding of the same message looks unrelated.
    again, _ = tokens.blind(variant, public_key, prepared)
    assert again != blinded_msg


def test_blind_takes_its_randomness_from_the_injected_rng(
    private_key: rsa.RSAPrivateKey,
) -> None:
    variant = tokens.RSABSSA_SHA384_PSS_RANDOMIZED
    public_key = private_key.public_key()
    salt, below = bytes(range(48)), 12345
    rng = ScriptedRng([salt], [below])
    assert tokens.blind(variant, public_key, b"msg", rng=rng) == blind_from_parts(
        variant, public_key, b"msg", salt=salt, r=below + 1
    )
    assert rng.exhausted()
    prefix = bytes(32 * [7])
    assert tokens.prepare(variant, b"m", rng=ScriptedRng([prefix])) == prefix + b"m"


def test_finalize_rejects_a_signature_from_another_key(
    private_key: rsa.RSAPrivateKey, other_private_key: rsa.RSAPrivateKey
) -> None:
    variant = tokens.RSABSSA_SHA384_PSS_DETERMINISTIC
    blinded_msg, inv = tokens.blind(variant, private_key.public_key(), b"m")
    wrong = tokens.blind_sign(other_private_key, blinded_msg)
    with pytest.raises(tokens.InvalidSignature):
        tokens.finalize(variant, private_key.public_key(), b"m", wrong, inv)


def test_finalize_and_verify_reject_wrong_sizes(private_key: rsa.RSAPrivateKey) -> None:
    variant = tokens.RSABSSA_SHA384_PSS_DETERMINISTIC
    public_key = private_key.public_key()
    with pytest.raises(tokens.InvalidSignature):
        tokens.finalize(variant, public_key, b"m", bytes(255), bytes(256))
    with pytest.raises(tokens.InvalidSignature):
        tokens.verify(variant, public_key, b"m", bytes(257))
    with pytest.raises(tokens.InvalidSignature):
        tokens.verify(variant, public_key, b"m", b"\xff" * 256)  # s >= n


def test_blind_sign_rejects_a_message_not_below_n(signer: tokens.BlindSigner) -> None:
    n = signer.public_key.public_numbers().n
    with pytest.raises(tokens.MessageTooLong):
        signer.blind_sign(n.to_bytes(256, "big"))
    with pytest.raises(tokens.MessageTooLong):
        tokens.blind_sign(signer, b"\xff" * 256)
    with pytest.raises(tokens.DecodeError):
        signer.blind_sign(bytes(255))
    # n - 1 is in range and signs fine (control).
    assert len(signer.blind_sign((n - 1).to_bytes(256, "big"))) == 256


def test_blind_sign_detects_a_faulty_crt_component(private_key: rsa.RSAPrivateKey) -> None:
    """RFC 9474 §4.3: a wrong CRT half must make BlindSign raise, not leak a bad signature."""
    numbers = private_key.private_numbers()
    faulty = rsa.RSAPrivateNumbers(
        numbers.p,
        numbers.q,
        numbers.d,
        numbers.dmp1 ^ 0x02,
        numbers.dmq1,
        numbers.iqmp,
        numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    blinded_msg, _ = tokens.blind(
        tokens.RSABSSA_SHA384_PSS_DETERMINISTIC, private_key.public_key(), b"m"
    )
    with pytest.raises(tokens.InvalidSignature, match="signing failure"):
        tokens.BlindSigner(faulty).blind_sign(blinded_msg)
    assert len(tokens.BlindSigner(private_key).blind_sign(blinded_msg)) == 256


def test_keys_under_2048_bits_or_with_another_exponent_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    exponent3 = rsa.generate_private_key(public_exponent=3, key_size=2048)
    variant = tokens.RSABSSA_SHA384_PSS_DETERMINISTIC
    for key in (small, exponent3):
        with pytest.raises(tokens.InvalidKey):
            tokens.BlindSigner(key)
        with pytest.raises(tokens.InvalidKey):
            tokens.blind(variant, key.public_key(), b"m")
        with pytest.raises(tokens.InvalidKey):
            tokens.verify(variant, key.public_key(), b"m", bytes(256))
        with pytest.raises(tokens.InvalidKey):
            tokens.encode_public_key(key.public_key())


def test_generate_private_key_makes_2048_bit_e65537_keys(private_key: rsa.RSAPrivateKey) -> None:
    assert private_key.key_size == 2048
    assert private_key.public_key().public_numbers().e == 65537


def test_hazmat_checks_its_parts(private_key: rsa.RSAPrivateKey) -> None:
    variant = tokens.RSABSSA_SHA384_PSS_RANDOMIZED
    public_key = private_key.public_key()
    with pytest.raises(ValueError, match="salt"):
        blind_from_parts(variant, public_key, b"m", salt=b"", r=2)
    with pytest.raises(ValueError, match="r must"):
        blind_from_parts(variant, public_key, b"m", salt=bytes(48), r=0)
    with pytest.raises(ValueError, match="msg_prefix"):
        prepare_from_parts(variant, b"m", msg_prefix=b"")


@settings(max_examples=60, deadline=None)
@given(msg=st.binary(max_size=200), salt=st.sampled_from([b"", bytes(48)]) | st.binary(max_size=64))
def test_emsa_pss_round_trip(msg: bytes, salt: bytes) -> None:
    em = emsa_pss_encode(msg, 2047, salt)
    assert len(em) == 256
    emsa_pss_verify(msg, em, 2047, len(salt))
    with pytest.raises(tokens.InvalidSignature):
        emsa_pss_verify(msg + b"x", em, 2047, len(salt))


@settings(max_examples=200, deadline=None)
@given(em=st.binary(min_size=0, max_size=300), salt_len=st.sampled_from([0, 48]))
def test_emsa_pss_verify_on_random_bytes_raises_only_invalid_signature(
    em: bytes, salt_len: int
) -> None:
    with pytest.raises(tokens.InvalidSignature):
        emsa_pss_verify(b"msg", em, 2047, salt_len)


def key_with_exact_bits(bits: int) -> rsa.RSAPrivateKey:
    """An RSA key whose modulus has exactly ``bits`` bits (OpenSSL rounds odd sizes down)."""
    while True:
        p = int(gmpy2.next_prime(secrets.randbits(bits - bits // 2) | 1 << (bits - bits // 2 - 1)))
        q = int(gmpy2.next_prime(secrets.randbits(bits // 2) | 1 << (bits // 2 - 1)))
        n = p * q
        if n.bit_length() == bits and p != q and gmpy2.gcd(65537, (p - 1) * (q - 1)) == 1:
            break
    d = pow(65537, -1, (p - 1) * (q - 1))
    return rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(65537, n),
    ).private_key()  # fmt: skip


@pytest.mark.parametrize("bits", [2049, 2055, 3072])
def test_moduli_that_are_not_a_multiple_of_8_bits(bits: int) -> None:
    """emBits = bit_len(n) - 1 makes emLen one byte shorter than modulus_len at 8k+1 bits."""
    key = key_with_exact_bits(bits)
    assert key.public_key().public_numbers().n.bit_length() == bits
    public_key = key.public_key()
    for variant in (
        tokens.RSABSSA_SHA384_PSS_DETERMINISTIC,
        tokens.RSABSSA_SHA384_PSSZERO_RANDOMIZED,
    ):
        prepared = tokens.prepare(variant, b"odd modulus")
        blinded_msg, inv = tokens.blind(variant, public_key, prepared)
        assert len(blinded_msg) == (bits + 7) // 8
        sig = tokens.finalize(
            variant, public_key, prepared, tokens.blind_sign(key, blinded_msg), inv
        )
        tokens.verify(variant, public_key, prepared, sig)
        cryptography_verify(public_key, variant, prepared, sig)
        # and cryptography's own signatures verify with ours
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=variant.salt_len)
        tokens.verify(variant, public_key, prepared, key.sign(prepared, pss, hashes.SHA384()))


def _written_out_verify(variant: Any, public_key: rsa.RSAPublicKey, msg: bytes, sig: bytes) -> bool:
    """RFC 8017 §8.1.2 step by step (RSAVP1, then tokens.hazmat.emsa_pss_verify)."""
    n, e = public_key.public_numbers().n, public_key.public_numbers().e
    s = int.from_bytes(sig, "big")
    if len(sig) != (n.bit_length() + 7) // 8 or s >= n:
        return False
    m = pow(s, e, n)
    em_bits = n.bit_length() - 1
    if m.bit_length() > em_bits:
        return False
    try:
        emsa_pss_verify(msg, m.to_bytes((em_bits + 7) // 8, "big"), em_bits, variant.salt_len)
    except tokens.InvalidSignature:
        return False
    return True


@settings(max_examples=80, deadline=None)
@given(
    msg=st.binary(max_size=64),
    name=st.sampled_from(sorted(VARIANTS)),
    signed_as=st.sampled_from([0, 48, 32]),
    damage=st.sampled_from(["none", "bit", "at-or-above-n", "short", "random"]),
    where=st.integers(min_value=0, max_value=255),
)
def test_verify_agrees_with_the_written_out_steps(
    msg: bytes, name: str, signed_as: int, damage: str, where: int
) -> None:
    """tokens.verify runs RSASSA-PSS-VERIFY in OpenSSL; the RFC 8017 steps decide the same."""
    variant = VARIANTS[name]
    key = rfc9474_key(load_vectors("rfc9474.json")[0])
    public_key = key.public_key()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=signed_as)
    sig = key.sign(msg, pss, hashes.SHA384())
    n = public_key.public_numbers().n
    if damage == "bit":
        sig = flip(sig, where)
    elif damage == "at-or-above-n":
        sig = (n + where).to_bytes(len(sig), "big")
    elif damage == "short":
        sig = sig[1:]
    elif damage == "random":
        sig = secrets.token_bytes(len(sig))
    expected = _written_out_verify(variant, public_key, msg, sig)
    if damage == "none":
        assert expected == (signed_as == variant.salt_len)
    try:
        tokens.verify(variant, public_key, msg, sig)
        verified = True
    except tokens.InvalidSignature:
        verified = False
    assert verified == expected
