"""Turning request bodies and query strings into checked values, or a 400 naming the field."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from aiohttp import web

from gateway.errors import bad_request

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EMAIL_MAX_CHARS = 254
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 128
NAME_MAX_CHARS = 100
INTERESTS_MAX_CHARS = 1000
SEXES = ("male", "female", "other")
# RFC 3339 date-time: the offset is mandatory, unlike in ISO 8601.
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")
INTEGER = re.compile(r"-?[0-9]{1,12}")
# Offsets and limits travel as int32 in gRPC.
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class SignUp:
    email: str
    password: str
    name: str
    surname: str
    birthday: datetime
    sex: str
    city: str
    interests: str


async def json_object(request: web.Request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def text(body: dict, name: str, max_chars: int) -> str:
    """A required string field, stripped of surrounding blanks."""
    value = body.get(name)
    if value is None:
        raise bad_request(f"{name} is required", name)
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string", name)
    value = value.strip()
    if not value:
        raise bad_request(f"{name} must not be empty", name)
    if len(value) > max_chars:
        raise bad_request(f"{name} must be at most {max_chars} characters", name)
    return value


def optional_text(body: dict, name: str, max_chars: int) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string", name)
    if len(value.strip()) > max_chars:
        raise bad_request(f"{name} must be at most {max_chars} characters", name)
    return value.strip()


def email(body: dict, name: str = "email") -> str:
    value = text(body, name, EMAIL_MAX_CHARS)
    if not EMAIL.fullmatch(value):
        raise bad_request(f"{name} must be an email address", name)
    return value


def uuid_value(value: object, name: str) -> str:
    """The canonical (lower-case, hyphenated) form of a UUID given as a string."""
    if value is None:
        raise bad_request(f"{name} is required", name)
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a UUID string", name)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise bad_request(f"{name} must be a UUID", name) from None


def birthday(body: dict, name: str = "birthday") -> datetime:
    value = text(body, name, 64)
    if not RFC3339.fullmatch(value):
        raise bad_request(f"{name} must be an RFC 3339 date-time with a time zone, "
                          "e.g. 1994-04-10T20:21:25+00:00", name)
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name} is not a real date", name) from None
    if moment > datetime.now(timezone.utc):
        raise bad_request(f"{name} must not be in the future", name)
    return moment


def one_of(body: dict, name: str, choices: tuple[str, ...]) -> str:
    value = body.get(name)
    if value not in choices:
        raise bad_request(f"{name} must be one of: {', '.join(choices)}", name)
    return value


def sign_up(body: dict) -> SignUp:
    return SignUp(
        email=email(body),
        password=password(body),
        name=text(body, "name", NAME_MAX_CHARS),
        surname=text(body, "surname", NAME_MAX_CHARS),
        birthday=birthday(body),
        sex=one_of(body, "sex", SEXES),
        city=text(body, "city", NAME_MAX_CHARS),
        interests=optional_text(body, "interests", INTERESTS_MAX_CHARS),
    )


def password(body: dict, name: str = "password", min_chars: int = PASSWORD_MIN_CHARS) -> str:
    # Blanks are part of a password: no stripping here.
    value = body.get(name)
    if not isinstance(value, str):
        raise bad_request(f"{name} is required and must be a string", name)
    if not min_chars <= len(value) <= PASSWORD_MAX_CHARS:
        raise bad_request(f"{name} must be {min_chars} to {PASSWORD_MAX_CHARS} characters", name)
    return value


def query_int(request: web.Request, name: str, default: int, maximum: int = INT32_MAX) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not INTEGER.fullmatch(raw):
        raise bad_request(f"{name} must be an integer", name)
    value = int(raw)
    if not 0 <= value <= maximum:
        raise bad_request(f"{name} must be between 0 and {maximum}", name)
    return value


def page(request: web.Request, default_limit: int, max_limit: int) -> tuple[int, int]:
    """(offset, limit) from the query string."""
    return query_int(request, "offset", 0), query_int(request, "limit", default_limit, max_limit)
