"""Evaluation reports: `metrics.json`, `predictions.jsonl`, `report.md` and a self-contained
`report.html` (plots embedded), written from one list of sections so the two never disagree.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from evaluation.evaluate import ABSENT, HEADLINE, Scored  # noqa: E402
from marsad.data import stance_dict  # noqa: E402

SNIPPET_CHARS = 220
TOP_ERRORS = 12


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[list[str], list[list[Any]]]] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # PNG file names in the report directory


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# -- plots -----------------------------------------------------------------------------------

def _save(figure, directory: Path, name: str) -> str:
    figure.tight_layout()
    figure.savefig(directory / name, dpi=110)
    plt.close(figure)
    return name


def plot_confusion(metrics: dict, directory: Path) -> str:
    confusion = np.array(metrics["stance"]["confusion"]["matrix"])
    figure, axis = plt.subplots(figsize=(5.2, 3.8))
    image = axis.imshow(confusion, cmap="Blues")
    axis.set_xticks(range(confusion.shape[1]), metrics["stance"]["confusion"]["columns_predicted"])
    axis.set_yticks(range(confusion.shape[0]), metrics["stance"]["confusion"]["rows_gold"])
    axis.set_xlabel("predicted")
    axis.set_ylabel("gold")
    for (row, column), value in np.ndenumerate(confusion):
        axis.text(column, row, str(value), ha="center", va="center",
                  color="white" if value > confusion.max() / 2 else "black")
    figure.colorbar(image, ax=axis)
    axis.set_title("Stance confusion (mentioned actors)")
    return _save(figure, directory, "stance_confusion.png")


def plot_reliability(metrics: dict, directory: Path) -> str:
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for axis, head in zip(axes, ("topics", "stance")):
        axis.plot([0, 1], [0, 1], "k:", linewidth=1)
        for moment, style in (("before", "o--"), ("after", "s-")):
            result = metrics["calibration"][head][moment]
            bins = [b for b in result["bins"] if b["count"]]
            if bins:
                axis.plot([b["mean_probability"] for b in bins], [b["frequency"] for b in bins], style,
                          label=f"{moment} T (ECE {_fmt(result['ece'])})")
        axis.set_title(f"{head}: reliability (T={metrics['calibration'][head]['temperature']:.2f})")
        axis.set_xlabel("predicted probability")
        axis.set_ylabel("observed frequency")
        axis.legend(fontsize=8)
    return _save(figure, directory, "reliability.png")


def plot_threshold_curves(scored: Scored, directory: Path) -> str:
    probabilities, gold = scored.topic_probabilities, scored.topic_gold
    grid = np.linspace(0.05, 0.95, 91)
    figure, axis = plt.subplots(figsize=(6.5, 3.8))
    for k, topic in enumerate(scored.topic_ids):
        scores = []
        for threshold in grid:
            decided = probabilities[:, k] >= threshold
            tp = float(np.sum(decided & gold[:, k]))
            denominator = float(decided.sum() + gold[:, k].sum())
            scores.append(2 * tp / denominator if denominator else 0.0)
        line = axis.plot(grid, scores, label=topic)[0]
        axis.axvline(scored.thresholds[k], color=line.get_color(), linestyle=":", linewidth=1)
    axis.set_xlabel("threshold (dotted: stored)")
    axis.set_ylabel("F1")
    axis.set_title("Topic F1 by decision threshold")
    axis.legend(fontsize=8)
    return _save(figure, directory, "threshold_f1.png")


def plot_actor_bars(metrics: dict, directory: Path) -> str:
    actors = sorted(set(metrics["stance"]["per_actor"]) | set(metrics["mentions"]["per_actor"]))
    x = np.arange(len(actors))
    figure, axis = plt.subplots(figsize=(10, 3.8))
    stance = [metrics["stance"]["per_actor"].get(a, {}).get("macro_f1", 0.0) for a in actors]
    recall = [metrics["mentions"]["per_actor"].get(a, {}).get("recall", 0.0) for a in actors]
    precision = [metrics["mentions"]["per_actor"].get(a, {}).get("precision", 0.0) for a in actors]
    axis.bar(x - 0.27, stance, 0.27, label="stance macro-F1")
    axis.bar(x, recall, 0.27, label="mention recall")
    axis.bar(x + 0.27, precision, 0.27, label="mention precision")
    axis.set_xticks(x, actors, rotation=30, ha="right")
    axis.set_ylim(0, 1.05)
    axis.legend(fontsize=8, ncols=3)
    axis.set_title("Per actor")
    return _save(figure, directory, "actors.png")


# -- error analysis --------------------------------------------------------------------------

def _snippet(record: dict) -> str:
    text = f"{record.get('title') or ''} — {record['text']}".strip(" —")
    return text[:SNIPPET_CHARS].replace("\n", " ") + ("…" if len(text) > SNIPPET_CHARS else "")


def confident_mistakes(scored: Scored) -> dict[str, list[dict]]:
    topic_errors = []
    probabilities, gold = scored.topic_probabilities, scored.topic_gold
    for i, record in enumerate(scored.records):
        for k, topic in enumerate(scored.topic_ids):
            decided = probabilities[i, k] >= scored.thresholds[k]
            if decided != gold[i, k]:
                topic_errors.append({
                    "id": record["id"], "topic": topic, "gold": bool(gold[i, k]), "probability": float(probabilities[i, k]),
                    "margin": float(abs(probabilities[i, k] - scored.thresholds[k])), "snippet": _snippet(record),
                })
    stance_errors = []
    for pair in scored.stance_pairs():
        if pair["predicted"] in (pair["gold"], ABSENT):
            continue
        record, result = scored.records[pair["article"]], scored.results[pair["article"]]
        stance = next(s for s in result.stances if s.actor == pair["actor"])
        stance_errors.append({
            "id": record["id"], "actor": pair["actor"], "gold": pair["gold"], "predicted": pair["predicted"],
            "confidence": max(pair["probabilities"].values()),
            "evidence": [e.text for e in stance.evidence], "snippet": _snippet(record),
        })
    missed = [
        {"id": scored.records[p["article"]]["id"], "actor": p["actor"], "gold": p["gold"]}
        for p in scored.stance_pairs() if p["predicted"] == ABSENT
    ]
    topic_errors.sort(key=lambda e: -e["margin"])
    stance_errors.sort(key=lambda e: -e["confidence"])
    return {"topics": topic_errors[:TOP_ERRORS], "stances": stance_errors[:TOP_ERRORS], "missed_mentions": missed}


# -- assembling ------------------------------------------------------------------------------

def build_sections(metrics: dict, scored: Scored, directory: Path) -> list[Section]:
    head = metrics["headline"]
    provenance = metrics["provenance"]
    sections = [
        Section(
            "Summary",
            f"Model `{provenance['model']['tag']}` ({provenance['model']['kind']}) on "
            f"{metrics['articles']} articles from {', '.join(Path(f).name for f in provenance['data']['files'])}. "
            f"Intervals: 95% bootstrap over articles ({provenance['bootstrap_resamples']} resamples). "
            f"Skipped malformed records: {len(provenance['data']['skipped_records'])}.",
            [(["metric", "value", "95% CI"],
              [[name, _fmt(head[name]["value"]), f"{_fmt(head[name]['low'])} – {_fmt(head[name]['high'])}"] for name in HEADLINE])],
        )
    ]
    topics = metrics["topics"]
    rows = []
    for topic in scored.topic_ids:
        tuned, half = topics["at_stored_thresholds"]["per_label"][topic], topics["at_0.5"]["per_label"][topic]
        rows.append([topic, _fmt(topics["thresholds"][topic]), _fmt(tuned["precision"]), _fmt(tuned["recall"]),
                     _fmt(tuned["f1"]), _fmt(half["f1"]), _fmt(topics["pr_auc"][topic]), tuned["support"]])
    rows.append(["micro", "", _fmt(topics["at_stored_thresholds"]["micro_precision"]),
                 _fmt(topics["at_stored_thresholds"]["micro_recall"]), _fmt(topics["at_stored_thresholds"]["micro_f1"]),
                 _fmt(topics["at_0.5"]["micro_f1"]), "", ""])
    rows.append(["macro", "", "", "", _fmt(topics["at_stored_thresholds"]["macro_f1"]),
                 _fmt(topics["at_0.5"]["macro_f1"]), _fmt(topics["macro_pr_auc"]), ""])
    sections.append(Section(
        "Topics",
        f"Exact-match ratio {_fmt(topics['exact_match'])}. F1 at the stored thresholds and at 0.5 shows what threshold tuning bought.",
        [(["topic", "threshold", "precision", "recall", "F1", "F1 @0.5", "PR-AUC", "support"], rows)],
        [plot_threshold_curves(scored, directory)],
    ))
    stance = metrics["stance"]
    sections.append(Section(
        "Stance toward mentioned actors",
        f"Macro-F1 {_fmt(stance['macro_f1'])}, StanceEval F_avg {_fmt(stance['f_avg'])}, accuracy {_fmt(stance['accuracy'])} "
        f"over {stance['support']} gold (article, actor) pairs; an actor the finder misses counts as `absent` (wrong). "
        f"Macro-F1 over the pairs the finder found: {_fmt(stance['macro_f1_when_found'])}.",
        [
            (["class", "precision", "recall", "F1", "support"],
             [[s, _fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]), v["support"]] for s, v in stance["per_class"].items()]),
            (["actor", "macro-F1", "accuracy", "support", "mention P", "mention R"],
             [[a, _fmt(v["macro_f1"]), _fmt(v["accuracy"]), v["support"],
               _fmt(metrics["mentions"]["per_actor"].get(a, {}).get("precision")),
               _fmt(metrics["mentions"]["per_actor"].get(a, {}).get("recall"))] for a, v in stance["per_actor"].items()]),
        ],
        [plot_confusion(metrics, directory), plot_actor_bars(metrics, directory)],
    ))
    mentions = metrics["mentions"]["overall"]
    sections.append(Section(
        "Actor mentions",
        f"Mention finder against the gold `stances` keys: precision {_fmt(mentions['precision'])}, "
        f"recall {_fmt(mentions['recall'])}, F1 {_fmt(mentions['f1'])}.",
    ))
    calibration = metrics["calibration"]
    sections.append(Section(
        "Calibration",
        "Expected calibration error (10 bins) before and after the stored temperature.",
        [(["head", "temperature", "ECE before", "ECE after"],
          [[h, _fmt(calibration[h]["temperature"]), _fmt(calibration[h]["before"]["ece"]), _fmt(calibration[h]["after"]["ece"])]
           for h in ("topics", "stance")])],
        [plot_reliability(metrics, directory)],
    ))
    errors = metrics["errors"]
    sections.append(Section(
        "Most confident mistakes",
        f"{len(errors['missed_mentions'])} gold actor mention(s) were not found by the mention finder.",
        [
            (["id", "topic", "gold", "probability", "snippet"],
             [[e["id"], e["topic"], e["gold"], _fmt(e["probability"]), e["snippet"]] for e in errors["topics"]]),
            (["id", "actor", "gold", "predicted", "confidence", "evidence", "snippet"],
             [[e["id"], e["actor"], e["gold"], e["predicted"], _fmt(e["confidence"]), " | ".join(e["evidence"]), e["snippet"]]
              for e in errors["stances"]]),
        ],
    ))
    sections.append(Section(
        "Provenance",
        "",
        [(["item", "value"], [
            ["model tag", provenance["model"]["tag"]],
            ["model code version", provenance["model"]["code_version"]],
            ["model training data", provenance["model"]["data_fingerprint"]],
            ["evaluation data", provenance["data"]["fingerprint"]],
            ["evaluation code version", provenance["code_version"]],
            ["date", provenance["date"]],
        ])],
    ))
    return sections


def render_markdown(sections: list[Section], title: str) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        for header, rows in section.tables:
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            for row in rows:
                lines.append("| " + " | ".join(_fmt(c).replace("|", "/").replace("\n", " ") for c in row) + " |")
            lines.append("")
        for figure in section.figures:
            lines += [f"![{figure}]({figure})", ""]
    return "\n".join(lines)


def render_html(sections: list[Section], title: str, directory: Path) -> str:
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;"
        "vertical-align:top}th{background:#f3f3f3}td{unicode-bidi:plaintext}img{max-width:100%}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        for header, rows in section.tables:
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                parts.append("<tr>" + "".join(f"<td dir='auto'>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        for figure in section.figures:
            data = base64.b64encode((directory / figure).read_bytes()).decode()
            parts.append(f"<p><img alt='{html.escape(figure)}' src='data:image/png;base64,{data}'></p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def prediction_rows(scored: Scored) -> list[dict]:
    """Per-article gold and predicted labels, for the error-analysis notebook and slicing."""
    rows = []
    for record, result in zip(scored.records, scored.results):
        rows.append({
            "id": record["id"],
            "source": record.get("source", ""),
            "words": len(record["text"].split()),
            "gold_topics": record["topics"],
            "gold_stances": stance_dict(record),
            "result": result.model_dump(),
        })
    return rows


def write_report(metrics: dict, scored: Scored, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    metrics["errors"] = confident_mistakes(scored)
    sections = build_sections(metrics, scored, directory)
    title = f"marsad evaluation — {metrics['provenance']['model']['tag']}"
    (directory / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    with open(directory / "predictions.jsonl", "w", encoding="utf-8") as handle:
        for row in prediction_rows(scored):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (directory / "report.md").write_text(render_markdown(sections, title), encoding="utf-8")
    (directory / "report.html").write_text(render_html(sections, title, directory), encoding="utf-8")
