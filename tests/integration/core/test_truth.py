"""The messenger's record of who has read what, and the events it writes with every change."""

from __future__ import annotations

import uuid

import grpc
import pytest

from common.errors import ServiceError
from messenger.store import NewMessage

from .conftest import events


async def test_same_pair_gets_the_same_chat_from_either_side(truth):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    first, created, _ = await truth.create_chat(a, b)
    again, created_again, members = await truth.create_chat(b, a)
    assert (again, created, created_again) == (first, True, False)
    assert members == sorted([a, b])


async def test_a_chat_with_yourself_is_refused(truth):
    me = str(uuid.uuid4())
    with pytest.raises(ServiceError) as err:
        await truth.create_chat(me, me)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_offline_recipient_gets_counted_messages_with_consecutive_versions(chat, truth):
    first = await chat.send(2, apply=False)
    second = await chat.send(1, apply=False)
    assert [(e.user_id, e.delta, e.version) for e in first.events + second.events] == [
        (chat.alice, 2, 1), (chat.alice, 1, 2)]
    assert await chat.truth_count() == 3


async def test_live_recipient_copies_are_pending_until_settled(chat, truth):
    sent = await chat.send(2, live=True, apply=False)
    assert sent.events == [] and await chat.truth_count() == 0
    settled = await truth.resolve_delivery(chat.alice, chat.id, sent.stored_seqs, delivered=True)
    assert settled == [] and await chat.truth_count() == 0
    # Confirming twice changes nothing.
    assert await truth.resolve_delivery(chat.alice, chat.id, sent.stored_seqs, delivered=True) == []


async def test_unconfirmed_delivery_starts_counting(chat, truth):
    sent = await chat.send(1, live=True, apply=False)
    [event] = await truth.resolve_delivery(chat.alice, chat.id, sent.stored_seqs, delivered=False)
    assert event.delta == 1 and await chat.truth_count() == 1
    # A late confirmation still means it was read: the count drops again.
    [late] = await truth.resolve_delivery(chat.alice, chat.id, sent.stored_seqs, delivered=True)
    assert late.delta == -1 and await chat.truth_count() == 0


async def test_expired_deliveries_are_counted_once(chat, truth):
    await chat.send(3, live=True, apply=False)
    expired = [e for e in await truth.expire_deliveries(0, 1000) if e.chat_id == chat.id]
    assert [e.delta for e in expired] == [3]
    assert [e for e in await truth.expire_deliveries(0, 1000) if e.chat_id == chat.id] == []


async def test_retried_send_with_the_same_key_stores_once(chat, truth):
    first = await chat.send(1, key="k-1", apply=False)
    retry = await chat.send(1, key="k-1", apply=False)
    assert retry.messages[0].id == first.messages[0].id
    assert retry.stored_seqs == [] and retry.events == []
    page = await truth.page(chat.bob, chat.id, 0, 10)
    assert page.total == 1


async def test_keys_repeated_in_one_frame_store_once(chat, truth):
    sent = await truth.send(chat.bob, chat.id, [NewMessage("a", "created", "k"), NewMessage("a", "created", "k"),
                                                NewMessage("b", "created", None)], [])
    assert sent.messages[0].id == sent.messages[1].id != sent.messages[2].id
    assert len(sent.stored_seqs) == 2


async def test_history_page_reads_its_unread_messages_only(chat, truth):
    await chat.send(5, apply=False)
    page = await truth.page(chat.alice, chat.id, 1, 2)
    assert [m.seq for m in page.messages] == [2, 3]
    assert (page.total, page.new_messages, page.unread) == (5, 2, 3)
    assert [e.delta for e in page.events] == [-2]
    again = await truth.page(chat.alice, chat.id, 1, 2)
    assert (again.new_messages, again.unread, again.events) == (0, 3, [])


async def test_read_up_to_a_message(chat, truth):
    sent = await chat.send(4, apply=False)
    unread, marked, evs = await truth.mark_read_up_to(chat.alice, chat.id, sent.messages[2].id)
    assert (unread, marked, [e.delta for e in evs]) == (1, 3, [-3])


async def test_own_messages_are_never_unread_for_the_sender(chat, truth):
    await chat.send(2, apply=False)
    assert await chat.truth_count(chat.bob) == 0


async def test_strangers_and_unknown_chats_are_refused(chat, truth):
    stranger = str(uuid.uuid4())
    for call in (truth.page(stranger, chat.id, 0, 10),
                 truth.send(stranger, chat.id, [NewMessage("x", "created", None)], [])):
        with pytest.raises(ServiceError) as err:
            await call
        assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(ServiceError) as err:
        await truth.page(chat.bob, str(uuid.uuid4()), 0, 10)
    assert err.value.code == grpc.StatusCode.NOT_FOUND


async def test_failed_send_leaves_nothing_behind(chat, truth, pool):
    with pytest.raises(Exception):
        # A NUL byte is refused by Postgres half-way through the transaction.
        await truth.send(chat.bob, chat.id, [NewMessage("ok", "created", None), NewMessage("bad\x00", "created", None)], [])
    assert await pool.fetchval("SELECT last_seq FROM chats WHERE id = $1", uuid.UUID(chat.id)) == 0
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE chat_id = $1", uuid.UUID(chat.id)) == 0


async def test_events_apply_to_the_truth(chat, counters, truth):
    sent = await chat.send(3, apply=False)
    page = await truth.page(chat.alice, chat.id, 0, 1)
    await counters.apply(events(sent.events + page.events))
    assert await chat.counter() == await chat.truth_count() == 2
