from __future__ import annotations

import time

import jwt
import pytest

from gateway.tokens import TokenError, Tokens

SECRET = "unit-tests-secret-long-enough-for-hs512-keys-too-0123456789abcdef"
USER = "5b0e7a8e-1c1a-4a43-9d8e-2f4f2b9c1a11"


@pytest.fixture
def tokens() -> Tokens:
    return Tokens(SECRET, access_ttl_s=900, refresh_ttl_s=3600)


def test_an_access_token_names_its_user(tokens: Tokens) -> None:
    assert tokens.access_user(tokens.issue(USER).access_token) == USER


def test_a_refresh_token_carries_its_jti(tokens: Tokens) -> None:
    pair = tokens.issue(USER)
    claims = tokens.refresh_claims(pair.refresh_token)
    assert (claims.user_id, claims.jti) == (USER, pair.refresh_jti)


def test_every_pair_is_new(tokens: Tokens) -> None:
    assert tokens.issue(USER).refresh_jti != tokens.issue(USER).refresh_jti


def test_an_expired_access_token_is_refused(tokens: Tokens) -> None:
    old = tokens.issue(USER, now=time.time() - 901)
    with pytest.raises(TokenError, match="access token expired"):
        tokens.access_user(old.access_token)


def test_an_expired_refresh_token_is_refused(tokens: Tokens) -> None:
    old = tokens.issue(USER, now=time.time() - 3601)
    with pytest.raises(TokenError, match="refresh token expired"):
        tokens.refresh_claims(old.refresh_token)


def test_a_refresh_token_is_not_an_access_token(tokens: Tokens) -> None:
    with pytest.raises(TokenError):
        tokens.access_user(tokens.issue(USER).refresh_token)


def test_an_access_token_is_not_a_refresh_token(tokens: Tokens) -> None:
    with pytest.raises(TokenError):
        tokens.refresh_claims(tokens.issue(USER).access_token)


def claims(**overrides) -> dict:
    now = int(time.time())
    return {"sub": USER, "typ": "access", "iat": now, "exp": now + 60, **overrides}


@pytest.mark.parametrize("forged", [
    jwt.encode(claims(), None, algorithm="none"),
    jwt.encode(claims(), SECRET, algorithm="HS512"),
    jwt.encode(claims(), SECRET, algorithm="HS384"),
    jwt.encode(claims(), SECRET[::-1], algorithm="HS256"),
], ids=["alg-none", "HS512", "HS384", "wrong-key"])
def test_tokens_not_signed_by_us_with_hs256_are_refused(tokens: Tokens, forged: str) -> None:
    with pytest.raises(TokenError, match="invalid access token"):
        tokens.access_user(forged)


@pytest.mark.parametrize("missing", ["exp", "sub", "typ", "iat"])
def test_a_token_missing_a_required_claim_is_refused(tokens: Tokens, missing: str) -> None:
    incomplete = claims()
    del incomplete[missing]
    with pytest.raises(TokenError):
        tokens.access_user(jwt.encode(incomplete, SECRET, algorithm="HS256"))


def test_a_refresh_token_without_jti_is_refused(tokens: Tokens) -> None:
    with pytest.raises(TokenError):
        tokens.refresh_claims(jwt.encode(claims(typ="refresh"), SECRET, algorithm="HS256"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused(tokens: Tokens, garbage: str) -> None:
    with pytest.raises(TokenError):
        tokens.access_user(garbage)
