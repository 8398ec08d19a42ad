"""A table's results as files and as markdown: `bench/papers/TABLE.json` (the document `runner.assemble`
builds) and `TABLE.md` (its markdown, which the app's Papers tab shows too)."""
from __future__ import annotations

import json
from pathlib import Path

from ..io import atomic_write, write_json

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "papers"  # where the committed results live
VERDICT = {True: "holds", False: "does not hold", None: "not measured"}


def command_for(name: str) -> str:
    return f"python -m omnivec_core.lab {name}"


def results_path(folder: Path, name: str) -> Path:
    return Path(folder) / f"{name}.json"


def read_results(folder: Path, name: str) -> dict | None:
    """The table's document from `folder`, None if it has none; a damaged file raises ValueError."""
    path = results_path(folder, name)
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); run `{command_for(name)}` again") from None
    if not isinstance(document, dict) or not isinstance(document.get("parts"), list):
        raise ValueError(f"{path} is not a table's results; run `{command_for(name)}` again")
    return document


def write_results(folder: Path, document: dict) -> None:
    """TABLE.json and TABLE.md, each written atomically."""
    name = document["table"]
    write_json(results_path(folder, name), document)
    text = format_markdown(document) + "\n"
    atomic_write(Path(folder) / f"{name}.md", lambda temp: Path(temp).write_text(text))


def number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):  # shares and accuracies to 3 decimals, counts whole, the rest 3 figures
        size = abs(value)
        if size < 1:
            return f"{value:.3f}"
        return f"{value:.0f}" if float(value).is_integer() or size >= 100 else f"{value:.3g}"
    return str(value)


def provenance(document: dict) -> str:
    budget = document.get("budget", {})
    commit = f" at commit {document['commit']}" if document.get("commit") else ""
    return (f"Produced by `{document.get('command') or command_for(document['table'])}` on {document.get('date', '?')}"
            f"{commit}: scale {budget.get('scale', '?')}, {budget.get('steps', '?')} training steps per row, device "
            f"{document.get('device', '?')}; evaluated on {budget.get('events', '?')} held-out events of OmniShapes "
            f"seed {budget.get('seed', '?')}.")


def part_markdown(part: dict) -> list[str]:
    columns = part["columns"]
    better = "higher" if part.get("higher_is_better", True) else "lower"
    lines = [f"## {part['title']}", "", f"**The paper** ({part['reference']}): {part['trend']}", "",
             f"**Decided by** {part['metric']} ({better} is better). **Agreement:** {part['agreement']}.", "",
             "| row | setting | " + " | ".join(columns) + " | paper | agrees |",
             "|---" * (len(columns) + 4) + "|"]
    for row in part["rows"]:
        cells = [number(row["metrics"].get(c)) for c in columns]
        lines.append(f"| {row['row']} | {row['setting']} | " + " | ".join(cells)
                     + f" | {row['paper'] or '-'} | {row['agrees']} |")
    if part["claims"]:
        lines += ["", "Claims, from the paper's trend:"]
        for claim in part["claims"]:
            a, b = claim["values"]
            lines.append(f"- {claim['claim']}: {VERDICT[claim['holds']]} ({number(a)} vs {number(b)})")
    return lines


def format_markdown(document: dict) -> str:
    """The whole table: where it comes from, then per part the paper's trend, our rows and the agreement."""
    lines = [f"# {document['title']}", "", f"Seed paper: {document['paper']}. Table `{document['table']}`.", "",
             provenance(document)]
    if document.get("note"):
        lines += ["", document["note"]]
    for part in document["parts"]:
        lines += ["", *part_markdown(part)]
    return "\n".join(lines)
