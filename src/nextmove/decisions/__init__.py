"""Decisions: context assembly, candidates, scoring, arbitration, allocation, reasons."""
