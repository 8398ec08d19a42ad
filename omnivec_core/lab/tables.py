"""The papers' tables, one declaration each (`tables_mmv_vatt.py`, `tables_omni.py`): the base config at a
scale, the rows (small functions that change it), the metric that decides the table, the paper's own figures
(or its words) and the orders it shows as claims about our rows. The claims compare the *order* of our rows
with the paper's, never our values with theirs (OmniShapes is not Kinetics)."""
from __future__ import annotations

from . import tables_mmv_vatt, tables_omni
from .spec import Table

ORDER = ("omnivec-grouping", "mmv-spaces", "mmv-modalities", "vatt-droptoken", "vatt-backbone", "mmv-deflation",
         "omnimae-masking", "omnimae-single", "omnivl-decoupled", "omnivl-paradigms", "omnivl-univlc")
_DECLARED = {t.name: t for t in (*tables_mmv_vatt.TABLES, *tables_omni.TABLES)}
TABLES: dict[str, Table] = {name: _DECLARED[name] for name in ORDER}
