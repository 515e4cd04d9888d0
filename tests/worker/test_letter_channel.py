"""The `letter` channel through the worker's delivery (worker.jobs.deliver): a letter message is
"sent" once its PDF letter waits for the print run; one that cannot be made fails at once with
its reason; a message taken over after a crashed worker's lease makes no second letter."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ledger import outbox
from ledger.db import db
from ledger.documents import print_runs
from ledger.models import Letter, LetterState, MessageState, OutboxMessage, utcnow
from tests.ledger.test_print_runs import ACTOR, order_with_address
from worker import jobs
from worker.channels import letter as letter_channel


def test_the_outbox_hands_letters_to_the_print_run_channel(card_merchant):
    assert jobs.CHANNELS["letter"] is letter_channel.send
    assert isinstance(letter_channel.CHANNEL, letter_channel.PrintRunChannel)
    order = order_with_address(card_merchant, "AK-1")
    message = print_runs.request_letter(order, "payment_info", ACTOR)
    db.session.commit()
    assert jobs.deliver(message.id) == "sent"
    letter = db.session.scalar(select(Letter))
    assert letter.message_id == message.id and letter.state == LetterState.CREATED
    assert letter_channel.CHANNEL.cancel(letter) is True  # not posted: still stoppable


def test_a_letter_that_cannot_be_made_fails_at_once_with_its_reason(card_merchant):
    order = order_with_address(card_merchant, "AK-1", town=None)
    message = outbox.add(
        card_merchant.id, "letter", "payment_info", "Kunde AK-1", order_id=order.id
    )
    db.session.commit()
    assert jobs.deliver(message.id) == "failed"
    db.session.refresh(message)
    assert message.state == MessageState.FAILED and message.attempts == 1  # no retries
    assert message.last_error == "the order has no postal address for a letter"
    assert db.session.scalar(select(func.count(Letter.id))) == 0


def test_a_message_taken_over_after_a_crash_makes_one_letter(card_merchant):
    order = order_with_address(card_merchant, "AK-1")
    message = print_runs.request_letter(order, "payment_info", ACTOR)
    db.session.commit()
    assert jobs.deliver(message.id) == "sent"
    # As if the worker had died before `sent` was kept: the lease runs out, another takes it.
    stuck = db.session.get(OutboxMessage, message.id)
    stuck.state = MessageState.SENDING
    stuck.claimed_at = utcnow() - outbox.LEASE - timedelta(minutes=1)
    db.session.commit()
    assert jobs.deliver(message.id) == "sent"
    assert db.session.scalar(select(func.count(Letter.id))) == 1
