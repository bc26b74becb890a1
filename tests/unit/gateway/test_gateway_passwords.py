from __future__ import annotations

import pytest

from gateway import passwords


async def test_a_hash_verifies_its_password_only() -> None:
    encoded = await passwords.hash_password("1234567890")
    assert await passwords.verify_password("1234567890", encoded)
    assert not await passwords.verify_password("1234567891", encoded)


def test_a_hash_names_its_scheme_and_cost() -> None:
    scheme, n, r, p, salt, key = passwords.hash_sync("secret").split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert salt and key


def test_the_same_password_hashes_differently_each_time() -> None:
    assert passwords.hash_sync("secret") != passwords.hash_sync("secret")


@pytest.mark.parametrize("encoded", ["", "plain", "bcrypt$1$2$3$c2FsdA==$a2V5", "scrypt$x$8$1$c2FsdA==$a2V5",
                                     "scrypt$16384$8$1$not base64!$a2V5"])
def test_a_malformed_hash_never_verifies(encoded: str) -> None:
    assert not passwords.verify_sync("secret", encoded)


def test_the_dummy_hash_is_well_formed_so_checking_it_costs_a_real_scrypt() -> None:
    assert passwords.DUMMY_HASH.startswith("scrypt$16384$8$1$")
    assert not passwords.verify_sync("anything", passwords.DUMMY_HASH)
