"""The papers' experiments at our scale: `python -m omnivec_core.lab TABLE` trains the variants (rows) of one of
the seed papers' ablations at an equal step budget, evaluates each on the held-out seed, and writes our table
beside the paper's trend (bench/papers/TABLE.json and TABLE.md), with whether our order agrees with theirs.

- `spec`: rows, claims, parts and tables, and the metrics read from an evaluate report;
- `tables`: the tables, one declaration each (`TABLES`);
- `measures`: measurements beside the evaluate report (DropToken cost, parameters, deflation, replication);
- `runner`: training, evaluation, resuming and assembling a table;
- `report`: the result files and their markdown (the app's Papers tab reads them)."""
from __future__ import annotations

from .report import RESULTS, command_for, format_markdown, read_results
from .spec import Claim, Part, Row, Table
from .tables import TABLES

__all__ = ["Claim", "Part", "RESULTS", "Row", "TABLES", "Table", "command_for", "format_markdown", "read_results"]
