"""Precision, recall and F1 per label, with micro and macro averages.

Config ``multilabel``: predictions and references are 0/1 vectors (one column per label).
Config ``multiclass``: predictions and references are class indices.
Shipped with marsad and loaded by path: the Hugging Face hub is not reachable here.
"""

import datasets
import evaluate

_DESCRIPTION = "Per-label precision/recall/F1/support and micro/macro F1, multi-label or multi-class."
_KWARGS = """
Args:
    predictions: 0/1 vectors (multilabel) or class indices (multiclass).
    references: same shape as predictions.
    labels: names of the labels/classes, in column/index order.
Returns:
    per_label: {name: {precision, recall, f1, support}}, micro_f1, macro_f1, micro_precision,
    micro_recall, macro_precision, macro_recall.
"""


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


class PrecisionRecallF1(evaluate.Metric):
    def _info(self):
        if self.config_name == "multilabel":
            features = datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("int32")),
                 "references": datasets.Sequence(datasets.Value("int32"))}
            )
        else:
            features = datasets.Features(
                {"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}
            )
        return evaluate.MetricInfo(description=_DESCRIPTION, citation="", inputs_description=_KWARGS, features=features)

    def _compute(self, predictions, references, labels):
        n = len(labels)
        tp, fp, fn = [0] * n, [0] * n, [0] * n
        if self.config_name == "multilabel":
            for predicted, gold in zip(predictions, references):
                for k in range(n):
                    tp[k] += predicted[k] == 1 and gold[k] == 1
                    fp[k] += predicted[k] == 1 and gold[k] == 0
                    fn[k] += predicted[k] == 0 and gold[k] == 1
        else:
            for predicted, gold in zip(predictions, references):
                if predicted == gold:
                    tp[gold] += 1
                else:
                    fp[predicted] += 1
                    fn[gold] += 1
        per_label = {}
        for k, name in enumerate(labels):
            precision = _ratio(tp[k], tp[k] + fp[k])
            recall = _ratio(tp[k], tp[k] + fn[k])
            per_label[name] = {
                "precision": precision,
                "recall": recall,
                "f1": _ratio(2 * precision * recall, precision + recall),
                "support": tp[k] + fn[k],
            }
        micro_precision = _ratio(sum(tp), sum(tp) + sum(fp))
        micro_recall = _ratio(sum(tp), sum(tp) + sum(fn))
        return {
            "per_label": per_label,
            "micro_precision": micro_precision,
            "micro_recall": micro_recall,
            "micro_f1": _ratio(2 * micro_precision * micro_recall, micro_precision + micro_recall),
            "macro_precision": sum(v["precision"] for v in per_label.values()) / n,
            "macro_recall": sum(v["recall"] for v in per_label.values()) / n,
            "macro_f1": sum(v["f1"] for v in per_label.values()) / n,
        }
