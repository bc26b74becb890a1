from __future__ import annotations

import json
import uuid

import pytest

from gateway import frames

LIMITS = frames.Limits(max_messages=3, max_chars=20)
CHAT = str(uuid.uuid4())


def parse(frame: dict | str) -> frames.Command:
    raw = frame if isinstance(frame, str) else json.dumps(frame)
    return frames.command_of(frames.decode(raw), LIMITS)


def send(payload) -> dict:
    return {"topic": "messenger", "action": "send-message", "payload": payload}


def refused(frame) -> str:
    with pytest.raises(frames.FrameError) as error:
        parse(frame)
    assert error.value.code == 400
    return error.value.message


def test_the_seed_frame_with_a_string_payload() -> None:
    command = parse(send(json.dumps({"chat_id": CHAT, "messages": [{"text": "Hello, Alice!", "status": "created"}]})))
    assert isinstance(command, frames.SendMessages)
    assert command.chat_id == CHAT
    assert [(m.text, m.status, m.client_id) for m in command.messages] == [("Hello, Alice!", "created", "")]


def test_an_object_payload_with_defaults_and_an_idempotency_key() -> None:
    command = parse(send({"chat_id": CHAT.upper(), "messages": [{"text": " hi ", "client_id": "k1"}]}))
    assert command.chat_id == CHAT
    assert [(m.text, m.status, m.client_id) for m in command.messages] == [(" hi ", "created", "k1")]


def test_read_messages() -> None:
    message = str(uuid.uuid4())
    command = parse({"topic": "messenger", "action": "read-messages",
                     "payload": {"chat_id": CHAT, "up_to_message_id": message}})
    assert command == frames.ReadMessages(CHAT, message)


@pytest.mark.parametrize(("frame", "says"), [
    ("nope", "not JSON"),
    ("[]", "JSON object"),
    ({"topic": "counter", "action": "send-message", "payload": {}}, "unknown topic"),
    ({"action": "send-message", "payload": {}}, "unknown topic"),
    ({"topic": "messenger", "action": "delete", "payload": {}}, "unknown action"),
    (send("{oops"), "not JSON"),
    (send("[1]"), "payload must be"),
    (send(None), "payload must be"),
    (send({"messages": [{"text": "x"}]}), "chat_id"),
    (send({"chat_id": "123", "messages": [{"text": "x"}]}), "chat_id must be a UUID"),
    (send({"chat_id": CHAT}), "non-empty list"),
    (send({"chat_id": CHAT, "messages": []}), "non-empty list"),
    (send({"chat_id": CHAT, "messages": [{"text": "x"}] * 4}), "at most 3"),
    (send({"chat_id": CHAT, "messages": ["x"]}), "messages[0] must be an object"),
    (send({"chat_id": CHAT, "messages": [{"text": ""}]}), "text must be a non-empty string"),
    (send({"chat_id": CHAT, "messages": [{"text": "  \n"}]}), "text must be a non-empty string"),
    (send({"chat_id": CHAT, "messages": [{"text": 5}]}), "text must be a non-empty string"),
    (send({"chat_id": CHAT, "messages": [{"text": "ok"}, {"text": "x" * 21}]}), "messages[1].text is 21 characters"),
    (send({"chat_id": CHAT, "messages": [{"text": "x", "status": "read"}]}), "status must be 'created'"),
    (send({"chat_id": CHAT, "messages": [{"text": "x", "client_id": ""}]}), "client_id"),
    ({"topic": "messenger", "action": "read-messages", "payload": {"chat_id": CHAT, "up_to_message_id": "x"}},
     "up_to_message_id"),
])
def test_bad_frames_say_what_is_wrong(frame, says: str) -> None:
    assert says in refused(frame)


@pytest.mark.parametrize(("request_id", "ok"), [(None, True), ("abc", True), (12, True), (True, False),
                                                ({"a": 1}, False), ("x" * 129, False)])
def test_request_ids(request_id, ok: bool) -> None:
    envelope = {"request_id": request_id}
    if ok:
        assert frames.request_id_of(envelope) == request_id
    else:
        with pytest.raises(frames.FrameError):
            frames.request_id_of(envelope)


def test_answers() -> None:
    assert json.loads(frames.send_ack(CHAT, ["m1"], "r")) == {
        "topic": "messenger", "action": "send-message-ack", "payload": {"chat_id": CHAT, "message_ids": ["m1"]},
        "request_id": "r"}
    assert json.loads(frames.read_ack(CHAT, 2)) == {
        "topic": "messenger", "action": "read-messages-ack", "payload": {"chat_id": CHAT, "unread": 2}}
    assert json.loads(frames.error(404, "chat not found")) == {
        "topic": "error", "payload": {"code": 404, "message": "chat not found"}}
