"""Letters: the outbox's `letter` messages go to a letter channel, by default the merchant's own
print runs (ledger.documents.print_runs): the message is "sent" once its letter is rendered and
waits for the next print run; the letter's own state then says printed, posted or cancelled.

A letter that cannot be made (no postal address, an invoice letter without an invoice, …)
fails the message for good, with the reason in the outbox: it is never "sent".

Another channel — a print-and-mail service that prints, folds and posts — implements the same
small interface (`LetterChannel`) and takes the default's place in `CHANNEL`:

- `submit(message, merchant) -> Letter`: make the letter for the outbox message (use
  `print_runs.create_letter`, which renders the PDF and stores the Letter once per message: a
  message delivered again after a crash must not be posted twice), then hand its PDF to the
  service. Raise `ChannelError(reason, permanent=True)` for a letter that can never be made,
  `ChannelError(reason)` for a passing failure (the outbox backs off and tries again).
- `cancel(letter) -> bool`: ask the service to stop a letter not posted yet; False when it is
  too late. (The default's letters never leave the house before they are posted, so the
  portal's Cancel, `print_runs.cancel_letter`, needs no channel. A service's channel must be
  asked first: the composition root, app.py, would hand its `cancel` to the ledger.)
- It moves the Letter on (printed, posted) when the service reports it.
"""

from __future__ import annotations

from typing import Protocol

from ledger.documents import letters, print_runs
from ledger.models import Letter, Merchant, OutboxMessage
from worker.channels import ChannelError


class LetterChannel(Protocol):
    def submit(self, message: OutboxMessage, merchant: Merchant) -> Letter: ...

    def cancel(self, letter: Letter) -> bool: ...


class PrintRunChannel:
    """The merchant prints the letters itself: each waits for the next print run (the portal's
    Print runs page, or `mahnwerk letters print-run`)."""

    def submit(self, message: OutboxMessage, merchant: Merchant) -> Letter:
        try:
            return print_runs.create_letter(message, merchant)
        except letters.LetterError as exc:
            raise ChannelError(str(exc), permanent=True) from exc

    def cancel(self, letter: Letter) -> bool:
        return print_runs.can(letter, "cancel")  # nothing left the house before it is posted


CHANNEL: LetterChannel = PrintRunChannel()


def send(message: OutboxMessage, merchant: Merchant) -> Letter:
    """The outbox's entry (worker.jobs.CHANNELS)."""
    return CHANNEL.submit(message, merchant)
