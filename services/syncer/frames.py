"""The WebSocket frames the syncer sends to users (the gateway forwards them as they are)."""

from __future__ import annotations

import json

from common.rpc.unread.v1 import types_pb2


def live_messages(chat_id: str, messages: list[types_pb2.Message]) -> str:
    # The payload is a JSON string, as in the frame the sender wrote (seed, "websocket-get-messages").
    payload = {"chat_id": chat_id, "messages": [
        {"text": m.text, "status": m.status, "id": m.id, "user_id": m.user_id, "chat_id": m.chat_id,
         "create_time": m.create_time}
        for m in messages]}
    return json.dumps({"topic": "messenger", "action": "send-message", "payload": json.dumps(payload)})


def unread(chat_id: str, count: int, total: int) -> str:
    return json.dumps({"topic": "counter", "action": "unread",
                       "payload": {"chat_id": chat_id, "unread": count, "total": total}})
