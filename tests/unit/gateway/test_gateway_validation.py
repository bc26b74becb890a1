from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import make_mocked_request

from gateway import validation
from gateway.errors import ApiError

SEED_BOB = {"email": "bob@email.com", "password": "1234567890", "name": "Bob", "surname": "Tallor",
            "birthday": "1994-04-10T20:21:25+00:00", "sex": "male", "city": "New Yourk", "interests": "programming"}


def refused(call, *args) -> ApiError:
    with pytest.raises(ApiError) as error:
        call(*args)
    assert error.value.status == 400
    return error.value


def test_the_seed_sign_up_is_valid() -> None:
    form = validation.sign_up(SEED_BOB)
    assert form.email == "bob@email.com"
    assert form.birthday == datetime(1994, 4, 10, 20, 21, 25, tzinfo=timezone.utc)
    assert (form.sex, form.interests) == ("male", "programming")


@pytest.mark.parametrize("birthday", ["1994-04-10T20:21:25Z", "1994-04-10t20:21:25.123456z",
                                      "1994-04-10 20:21:25-05:30", "1994-04-10T20:21:25.1+02:00"])
def test_birthdays_in_rfc3339_are_accepted(birthday: str) -> None:
    assert validation.sign_up({**SEED_BOB, "birthday": birthday}).birthday.tzinfo is not None


@pytest.mark.parametrize("birthday", ["1994-04-10T20:21:25", "1994-04-10", "10.04.1994", "1994-13-10T00:00:00Z",
                                      "1994-04-10T20:21:25+0000", "١٩٩٤-04-10T20:21:25Z", 19940410])
def test_birthdays_not_in_rfc3339_are_refused(birthday) -> None:
    assert refused(validation.sign_up, {**SEED_BOB, "birthday": birthday}).field == "birthday"


def test_a_birthday_in_the_future_is_refused() -> None:
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert refused(validation.sign_up, {**SEED_BOB, "birthday": tomorrow}).field == "birthday"


@pytest.mark.parametrize(("field", "value"), [
    ("email", "bob"), ("email", "bob@email"), ("email", "bob @email.com"), ("email", "a" * 250 + "@b.co"),
    ("password", "1234567"), ("password", "x" * 129), ("password", None),
    ("name", ""), ("name", "x" * 101), ("surname", None), ("city", 5),
    ("sex", "Male"), ("sex", ""), ("interests", ["chess"]), ("interests", "x" * 1001),
])
def test_each_bad_field_is_named(field: str, value) -> None:
    body = {**SEED_BOB, field: value}
    if value is None:
        del body[field]
    error = refused(validation.sign_up, body)
    assert error.field == field
    assert error.message.startswith(field)


def test_interests_may_be_left_out() -> None:
    body = {k: v for k, v in SEED_BOB.items() if k != "interests"}
    assert validation.sign_up(body).interests == ""


def test_names_are_trimmed_and_passwords_are_not() -> None:
    form = validation.sign_up({**SEED_BOB, "name": "  Bob ", "password": " 12345678 "})
    assert (form.name, form.password) == ("Bob", " 12345678 ")


def test_uuids_come_out_canonical() -> None:
    assert validation.uuid_value("5B0E7A8E1C1A4A439D8E2F4F2B9C1A11", "id") == "5b0e7a8e-1c1a-4a43-9d8e-2f4f2b9c1a11"
    assert refused(validation.uuid_value, "nope", "chat_id").field == "chat_id"
    assert refused(validation.uuid_value, 5, "chat_id").field == "chat_id"


@pytest.mark.parametrize(("query", "expected"), [("", (0, 10)), ("offset=3&limit=0", (3, 0)), ("limit=100", (0, 100)),
                                                 ("offset=&limit=", (0, 10))])
def test_paging_defaults_and_bounds(query: str, expected: tuple[int, int]) -> None:
    assert validation.page(make_mocked_request("GET", f"/x?{query}"), 10, 100) == expected


@pytest.mark.parametrize("query", ["limit=101", "limit=-1", "offset=-1", "limit=abc", "limit=1.0", "offset=%2B1",
                                   "offset=9999999999", "limit=%D9%A1"])
def test_paging_refuses_what_is_not_a_small_whole_number(query: str) -> None:
    refused(validation.page, make_mocked_request("GET", f"/x?{query}"), 10, 100)
