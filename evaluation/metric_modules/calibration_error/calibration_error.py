"""Expected calibration error (ECE) with equal-width probability bins.

Each example is a predicted probability of an event and whether the event happened (0/1):
for a binary label, the label's probability and its gold value; for a multi-class decision,
the top-class probability and whether the top class was right.
ECE = sum over bins of (bin size / N) * |mean probability - observed frequency|.
"""

import datasets
import evaluate

_KWARGS = """
Args:
    predictions: probabilities in [0, 1].
    references: 0/1 outcomes.
    n_bins: number of equal-width bins (default 10).
Returns:
    ece, and bins: [{lower, upper, count, mean_probability, frequency}] for reliability diagrams.
"""


class CalibrationError(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Expected calibration error over equal-width bins.",
            citation="Naeini et al. 2015; Guo et al. 2017",
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references, n_bins=10):
        bins = [[] for _ in range(n_bins)]
        for probability, outcome in zip(predictions, references):
            index = min(int(probability * n_bins), n_bins - 1)
            bins[index].append((probability, outcome))
        total = len(predictions)
        ece, summary = 0.0, []
        for index, members in enumerate(bins):
            lower, upper = index / n_bins, (index + 1) / n_bins
            if not members:
                summary.append({"lower": lower, "upper": upper, "count": 0, "mean_probability": None, "frequency": None})
                continue
            mean_probability = sum(p for p, _ in members) / len(members)
            frequency = sum(o for _, o in members) / len(members)
            ece += len(members) / total * abs(mean_probability - frequency)
            summary.append({"lower": lower, "upper": upper, "count": len(members),
                            "mean_probability": mean_probability, "frequency": frequency})
        return {"ece": ece if total else 0.0, "bins": summary}
