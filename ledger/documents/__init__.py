"""Customer documents as PDF: letters for a window envelope (reminders, payment information,
cancellations, the shop's invoice with a payment slip), in the order's locale, and the payment
slips themselves (Swiss QR-bill, GiroCode) that letters and emails carry.

- `locales`: the locale of an order's documents and how it writes money and dates;
- `slips`: which slip an order gets, its data and its QR code;
- `letters`: the letter itself, rendered with WeasyPrint (`render`).
Rendering stores nothing: the letter channel and the print runs keep what they need.
"""
