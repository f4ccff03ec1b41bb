"""Average precision (area under the precision-recall curve, step-wise) for one binary label.

AP = sum over ranks k of (R_k - R_{k-1}) * P_k, with examples sorted by descending score and
tied scores treated as one threshold (the convention of scikit-learn's
average_precision_score).
"""

import datasets
import evaluate


class AveragePrecision(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Average precision (PR-AUC) of scores against 0/1 references.",
            citation="",
            inputs_description="predictions: scores; references: 0/1. Returns average_precision (None without positives).",
            features=datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references):
        positives = sum(references)
        if positives == 0:
            return {"average_precision": None}
        ranked = sorted(zip(predictions, references), key=lambda pair: -pair[0])
        ap, true_pos, seen, previous_recall, i = 0.0, 0, 0, 0.0, 0
        while i < len(ranked):
            score = ranked[i][0]
            while i < len(ranked) and ranked[i][0] == score:
                true_pos += ranked[i][1]
                seen += 1
                i += 1
            recall = true_pos / positives
            ap += (recall - previous_recall) * (true_pos / seen)
            previous_recall = recall
        return {"average_precision": ap}
