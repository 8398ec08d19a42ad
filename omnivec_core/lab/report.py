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


def mean_spread(stat: dict | None) -> str:
    """"0.774 ± 0.012" over several seeds, the value alone for one, "-" for none."""
    if not stat:
        return "-"
    if stat["n"] < 2:
        return number(stat["mean"])
    return f"{number(stat['mean'])} ± {number(stat['std'])}"


def signed(value) -> str:
    return "-" if value is None else ("+" if value >= 0 else "−") + number(abs(value))


def runs_done(document: dict) -> tuple[int, int]:
    seeds = document.get("budget", {}).get("seeds", 1)
    rows = [row for part in document["parts"] for row in part["rows"]]
    done = sum(min(seeds, max((s["n"] for s in row.get("stats", {}).values()), default=0)) for row in rows)
    return done, seeds * len(rows)


def provenance(document: dict) -> str:
    budget = document.get("budget", {})
    commit = f" at commit {document['commit']}" if document.get("commit") else ""
    seeds = budget.get("seeds", 1)
    text = (f"Produced by `{document.get('command') or command_for(document['table'])}` on {document.get('date', '?')}"
            f"{commit}: scale {budget.get('scale', '?')}, {budget.get('steps', '?')} training steps per row, "
            f"{seeds} training seed{'s' if seeds != 1 else ''} per row (0-{seeds - 1}), device "
            f"{document.get('device', '?')}; evaluated on {budget.get('events', '?')} held-out events of OmniShapes "
            f"seed {budget.get('seed', '?')}. Our figures are mean ± standard deviation over the seeds.")
    done, total = runs_done(document)
    if done < total:
        text += (f" **{done} of {total} runs done**; the rest are not yet run: "
                 f"`{command_for(document['table'])} --resume` goes on.")
    return text


def quote_markdown(part: dict) -> list[str]:
    """The paper's own figures (a table of them) or, where it gives none, its words."""
    quote = part.get("quote")
    if not quote:
        return []
    lines = []
    if quote["figures"]:
        lines += [f"**The paper's figures** ({quote['source']}):", "",
                  "| row | " + " | ".join(quote["columns"]) + " |", "|---" * (len(quote["columns"]) + 1) + "|"]
        lines += [f"| {row} | " + " | ".join("/" if v is None else f"{v:g}" for v in values) + " |"
                  for row, values in quote["figures"].items()]
        mirrors = "; ".join(f"{metric}: {', '.join(columns)}" for metric, columns in quote["mirrors"].items())
        lines += ["", f"Our metrics stand for (the mean of) these columns: {mirrors}.", ""]
    else:
        lines += [f"**The paper gives no figures here** ({quote['source']}).", ""]
    if quote["words"]:
        lines += [f"> {quote['words']}", ""]
    return lines


def part_markdown(part: dict) -> list[str]:
    columns = part["columns"]
    better = "higher" if part.get("higher_is_better", True) else "lower"
    lines = [f"## {part['title']}", "", f"**The paper** ({part['reference']}): {part['trend']}", "",
             *quote_markdown(part),
             f"**Ours**, decided by {part['metric']} ({better} is better). **Claims:** {part['agreement']}.", "",
             "| row | setting | seeds | " + " | ".join(columns) + " | paper | claims |",
             "|---" * (len(columns) + 5) + "|"]
    for row in part["rows"]:
        stats = row.get("stats", {})
        seeds = max((s["n"] for s in stats.values()), default=0)
        cells = [mean_spread(stats.get(c)) for c in columns] if seeds else ["not yet run"] + ["-"] * (len(columns) - 1)
        lines.append(f"| {row['row']} | {row['setting']} | {seeds} | " + " | ".join(cells)
                     + f" | {number(row.get('paper'))} | {row['agrees']} |")
    if part["claims"]:
        lines += ["", "Claims (the orders the paper shows; a claim holds where the gap of the means exceeds the "
                      "spread of the gap, sqrt(std_a² + std_b²), and is within noise where it does not):"]
        for claim in part["claims"]:
            a, b = claim["values"]
            lines.append(f"- {claim['claim']}: **{claim['verdict']}** ({number(a)} vs {number(b)}; gap "
                         f"{signed(claim['gap'])}, spread {number(claim['spread'])})")
    return lines


def format_markdown(document: dict) -> str:
    """The whole table: where it comes from, then per part the paper's finding and figures, our rows (mean ±
    spread over the seeds) and every claim's verdict."""
    lines = [f"# {document['title']}", "", f"Seed paper: {document['paper']}. Table `{document['table']}`.", "",
             provenance(document)]
    if document.get("note"):
        lines += ["", document["note"]]
    for part in document["parts"]:
        lines += ["", *part_markdown(part)]
    return "\n".join(lines)
