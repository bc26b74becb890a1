"""WebSocket frames a client sends, checked; and the frames the gateway answers with.

A frame is `{"topic", "action", "payload", "request_id"?}`; the payload may be a JSON
object or, as in the seed, a JSON string holding one. A `request_id` is echoed in
the answer, so a client can match answers to requests.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from common.rpc.unread.v1 import messenger_pb2

REQUEST_ID_MAX_CHARS = 128
CLIENT_ID_MAX_CHARS = 128
# The only status a client may give a new message; later ones are the server's to set.
NEW_MESSAGE_STATUS = "created"
SEND = "send-message"
READ = "read-messages"
ACTIONS = (SEND, READ)


class FrameError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> FrameError:
    return FrameError(400, message)


@dataclass(frozen=True)
class Limits:
    max_messages: int
    max_chars: int


@dataclass(frozen=True)
class SendMessages:
    chat_id: str
    messages: list[messenger_pb2.NewMessage]


@dataclass(frozen=True)
class ReadMessages:
    chat_id: str
    up_to_message_id: str


Command = SendMessages | ReadMessages
RequestId = str | int | None


def decode(raw: str) -> dict:
    try:
        envelope = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid("the frame is not JSON") from None
    if not isinstance(envelope, dict):
        raise invalid("the frame must be a JSON object")
    return envelope


def request_id_of(envelope: dict) -> RequestId:
    request_id = envelope.get("request_id")
    valid = (request_id is None or (isinstance(request_id, int) and not isinstance(request_id, bool))
             or (isinstance(request_id, str) and len(request_id) <= REQUEST_ID_MAX_CHARS))
    if not valid:
        raise invalid(f"request_id must be an integer or a string of at most {REQUEST_ID_MAX_CHARS} characters")
    return request_id


def command_of(envelope: dict, limits: Limits) -> Command:
    topic, action = envelope.get("topic"), envelope.get("action")
    if topic != "messenger":
        raise invalid(f"unknown topic {topic!r}; the only one is 'messenger'")
    if action not in ACTIONS:
        raise invalid(f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")
    payload = _payload(envelope.get("payload"))
    if action == SEND:
        return SendMessages(_uuid(payload, "chat_id"), _new_messages(payload.get("messages"), limits))
    return ReadMessages(_uuid(payload, "chat_id"), _uuid(payload, "up_to_message_id"))


def _payload(payload: object) -> dict:
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError:
            raise invalid("payload is a string but not JSON") from None
    if not isinstance(payload, dict):
        raise invalid("payload must be a JSON object, or a JSON string holding one")
    return payload


def _uuid(payload: dict, name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise invalid(f"payload.{name} is required and must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid(f"payload.{name} must be a UUID") from None


def _new_messages(messages: object, limits: Limits) -> list[messenger_pb2.NewMessage]:
    if not isinstance(messages, list) or not messages:
        raise invalid("payload.messages must be a non-empty list")
    if len(messages) > limits.max_messages:
        raise invalid(f"payload.messages holds {len(messages)} messages; at most {limits.max_messages} per frame")
    return [_new_message(i, m, limits) for i, m in enumerate(messages)]


def _new_message(index: int, message: object, limits: Limits) -> messenger_pb2.NewMessage:
    where = f"payload.messages[{index}]"
    if not isinstance(message, dict):
        raise invalid(f"{where} must be an object")
    text, status, client_id = message.get("text"), message.get("status", NEW_MESSAGE_STATUS), message.get("client_id")
    if not isinstance(text, str) or not text.strip():
        raise invalid(f"{where}.text must be a non-empty string")
    if len(text) > limits.max_chars:
        raise invalid(f"{where}.text is {len(text)} characters; at most {limits.max_chars}")
    if status != NEW_MESSAGE_STATUS:
        raise invalid(f"{where}.status must be {NEW_MESSAGE_STATUS!r}")
    if client_id is not None and not (isinstance(client_id, str) and 0 < len(client_id) <= CLIENT_ID_MAX_CHARS):
        raise invalid(f"{where}.client_id must be a non-empty string of at most {CLIENT_ID_MAX_CHARS} characters")
    return messenger_pb2.NewMessage(text=text, status=status, client_id=client_id or "")


def _answer(topic: str, action: str | None, payload: dict, request_id: RequestId) -> str:
    frame: dict = {"topic": topic}
    if action is not None:
        frame["action"] = action
    frame["payload"] = payload
    if request_id is not None:
        frame["request_id"] = request_id
    return json.dumps(frame)


def send_ack(chat_id: str, message_ids: list[str], request_id: RequestId = None) -> str:
    return _answer("messenger", "send-message-ack", {"chat_id": chat_id, "message_ids": message_ids}, request_id)


def read_ack(chat_id: str, unread: int, request_id: RequestId = None) -> str:
    return _answer("messenger", "read-messages-ack", {"chat_id": chat_id, "unread": unread}, request_id)


def error(code: int, message: str, request_id: RequestId = None) -> str:
    return _answer("error", None, {"code": code, "message": message}, request_id)
