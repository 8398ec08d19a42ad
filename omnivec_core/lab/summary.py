"""Every table's verdicts in one page (`python -m omnivec_core.lab --summary`, BENCHMARKS §8): per table the runs
done, our deciding metric per row (mean ± spread), the claims that hold, are within noise or do not hold; every
claim that does not hold with what was measured; and the tables not yet run, with the command that goes on."""
from __future__ import annotations

from pathlib import Path

from .claims import HOLDS, MISSING, NOISE, NOT_HELD
from .report import command_for, mean_spread, number, read_results, runs_done, signed
from .tables import TABLES


def table_line(document: dict) -> str:
    done, total = runs_done(document)
    cells = []
    for part in document["parts"]:
        rows = ", ".join(f"{row['row']} {mean_spread(row['stats'].get(part['metric']))}" for row in part["rows"])
        verdicts = [c["verdict"] for c in part["claims"]]
        counts = " / ".join(str(verdicts.count(v)) for v in (HOLDS, NOISE, NOT_HELD, MISSING))
        cells.append((part["metric"], rows, counts))
    metric, rows, counts = (" ; ".join(c[i] for c in cells) for i in range(3))
    if done < total:  # a row with fewer seeds has a smaller (or no) spread: its verdicts may still change
        counts += " (provisional: runs missing)"
    return f"| `{document['table']}` | {done} of {total} | {metric} | {rows} | {counts} |"


def not_held(document: dict) -> list[str]:
    lines = []
    for part in document["parts"]:
        stats = {row["row"]: row["stats"] for row in part["rows"]}
        for claim in part["claims"]:
            if claim["verdict"] != NOT_HELD:
                continue
            left, right = (stats[name].get(claim["metric"]) for name in (claim["left"], claim["right"]))
            lines.append(f"- `{document['table']}`: {claim['claim']}: {claim['left']} {mean_spread(left)}, "
                         f"{claim['right']} {mean_spread(right)} (gap {signed(claim['gap'])}, spread "
                         f"{number(claim['spread'])}).")
    return lines


def summary_markdown(folder: Path) -> str:
    documents = {name: read_results(folder, name) for name in TABLES}
    lines = ["| table | runs | deciding metric | ours (mean ± spread over seeds) | claims: hold / within noise / "
             "do not hold / not measured |", "|---|---|---|---|---|"]
    lines += [table_line(d) for d in documents.values() if d is not None]
    complete = [d for d in documents.values() if d is not None and runs_done(d)[0] == runs_done(d)[1]]
    missing = [line for d in complete for line in not_held(d)]
    lines += ["", "Claims that do not hold, as measured (tables with every run done):", "", *(missing or ["- none"])]
    pending = [name for name, d in documents.items() if d is None or runs_done(d)[0] < runs_done(d)[1]]
    if pending:
        lines += ["", "Not yet run (in full): " + ", ".join(f"`{n}`" for n in pending) + "; each goes on with "
                  f"`{command_for('TABLE')} --resume`."]
    return "\n".join(lines)
