"""Password hashing with scrypt, off the event loop.

A hash is stored as `scrypt$<n>$<r>$<p>$<salt b64>$<key b64>`, so the cost can be
raised later without breaking the hashes already stored.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os

SCHEME = "scrypt"
COST_N = 2**14
BLOCK_SIZE_R = 8
PARALLELISM_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_sync(password: str) -> str:
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, COST_N, BLOCK_SIZE_R, PARALLELISM_P)
    return "$".join([SCHEME, str(COST_N), str(BLOCK_SIZE_R), str(PARALLELISM_P), _b64(salt), _b64(key)])


def verify_sync(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _derive(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


async def hash_password(password: str) -> str:
    # scrypt takes tens of milliseconds and releases the GIL: a thread keeps the loop free.
    return await asyncio.to_thread(hash_sync, password)


async def verify_password(password: str, encoded: str) -> bool:
    return await asyncio.to_thread(verify_sync, password, encoded)


# Checked against when the email is unknown, so that answer takes as long as a wrong
# password; its result is thrown away, so any well-formed hash will do.
DUMMY_HASH = hash_sync(_b64(os.urandom(SALT_BYTES)))
