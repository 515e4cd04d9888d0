"""Payments in from the bank: statement readers, references, matching and the import."""
