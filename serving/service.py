"""The marsad HTTP service: a thin BentoML adapter around the shared inference core.

``POST /classify`` validates the request (pydantic, :mod:`marsad.api`), splits it into one
task per article and sends them through two adaptively batched lanes: short articles are
batched many at a time, long ones (over ``LONG_ARTICLE_CHARS``) a few at a time, so one long
article never holds a batch of short ones hostage. Requests from concurrent clients share
batches. ``GET /metadata`` describes the loaded model.

The model comes from the BentoML store (``MARSAD_MODEL``, default ``marsad:latest``) and is
declared at class level so ``bentoml build`` packages it. Nothing here imports training code.
"""

from __future__ import annotations

import asyncio
import math
import os
from itertools import groupby

import bentoml
from bentoml.exceptions import InvalidArgument
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from marsad.api import ActorIn, ArticleIn, ArticleResult, ClassifyRequest, ClassifyResponse
from marsad.inference import RequestError, load_classifier

MODEL_TAG = os.environ.get("MARSAD_MODEL", "marsad:latest")
MAX_BATCH_WAIT_S = 0.05
"""The longest a lone request waits for company before its batch starts."""


def _bound_the_batchers_learned_wait() -> None:
    """Work around bentoml 1.4.39's adaptive batcher: it holds a request until its wait
    reaches the *average wait of recent batches*, and under load that average is the time
    requests queued behind a running batch (seconds). After a burst, every lone request was
    then held ~1.4 s, which fed the same average again: single-request latency stayed 7x
    higher long after the load was gone (benchmarks/README.md). Batches still form under load,
    while a batch runs, so bounding the deliberate wait costs no throughput."""
    from bentoml._internal.marshal.dispatcher import Optimizer

    refresh = Optimizer.trigger_refresh
    if getattr(refresh, "bounded", False):
        return

    def refresh_with_bounded_wait(self) -> None:
        refresh(self)
        self.wait = min(self.wait, MAX_BATCH_WAIT_S)

    refresh_with_bounded_wait.bounded = True
    Optimizer.trigger_refresh = refresh_with_bounded_wait


_bound_the_batchers_learned_wait()
LONG_ARTICLE_CHARS = 6_000
"""About 1,000 words: beyond this an article takes several encoder chunks."""


class ScoreTask(BaseModel):
    """One article with the request options that apply to it (internal batching unit)."""

    article: ArticleIn
    actors: list[ActorIn] = []
    evidence: bool = True


async def metadata(request: Request) -> JSONResponse:
    service = bentoml.get_current_service()
    return JSONResponse(service.metadata())


# BentoML mounts ASGI apps "passively": this one answers GET /metadata and nothing else.
metadata_app = Starlette(routes=[Route("/metadata", metadata, methods=["GET"])])


@bentoml.asgi_app(metadata_app, path="/")
@bentoml.service(
    name="marsad",
    workers=1,
    traffic={"timeout": 300, "max_concurrency": 128},
    resources={"cpu": "2"},
)
class Marsad:
    model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        self.classifier = load_classifier(str(self.model.tag))

    def metadata(self) -> dict:
        info = self.classifier.info
        return {
            "model": self.classifier.model_info.model_dump(),
            "labels": info.labels.model_dump(),
            "thresholds": info.topic_thresholds,
            "temperatures": {"topics": info.topic_temperature, "stance": info.stance_temperature},
            "config": info.config,
            "data": info.data,
            "code_version": info.code_version,
            "dev_metrics": info.dev_metrics,
            "limits": {"long_article_chars": LONG_ARTICLE_CHARS},
        }

    @bentoml.api(route="/classify", input_spec=ClassifyRequest)
    async def classify(
        self, articles: list[ArticleIn], actors: list[ActorIn], evidence: bool, strict: bool
    ) -> ClassifyResponse:
        """Topics and per-actor stance for each article, in the order sent."""
        self._keep_batching_session()
        clashes = sorted({a.id for a in actors} & set(self.classifier.schema.actor_ids))
        if clashes:
            raise InvalidArgument(
                f"custom actor id(s) {clashes} are default actors, which are always reported; "
                "use a different id or leave them out"
            )
        tasks = [ScoreTask(article=a, actors=actors, evidence=evidence) for a in articles]
        long = [i for i, a in enumerate(articles) if len(a.text) > LONG_ARTICLE_CHARS]
        short = [i for i, a in enumerate(articles) if len(a.text) <= LONG_ARTICLE_CHARS]
        lanes = [(short, self.to_async.score_short), (long, self.to_async.score_long)]
        outputs = await asyncio.gather(*(lane([tasks[i] for i in indices]) for indices, lane in lanes if indices))
        results: list[ArticleResult | None] = [None] * len(articles)
        for (indices, _), lane_results in zip([lane for lane in lanes if lane[0]], outputs):
            for index, result in zip(indices, lane_results):
                results[index] = ArticleResult.model_validate(result)
        return ClassifyResponse(model=self.classifier.model_info, results=results)

    def _keep_batching_session(self) -> None:
        """Work around bentoml 1.4.39: the in-process client behind ``self.to_async`` replaces
        its HTTP session every 100 requests or 300 s by closing the old one, which fails every
        call still in flight on it (500s under load). That session talks to this same process
        through an ASGI connector, so it never needs replacing."""
        manager = getattr(self.to_async, "_session_manager", None)
        if manager is not None:
            manager.max_requests = manager.max_age = math.inf

    def _score(self, tasks: list[ScoreTask]) -> list[ArticleResult]:
        """Tasks of one batch may come from different requests: score each option set together."""
        results: list[ArticleResult | None] = [None] * len(tasks)

        def options(index: int) -> tuple:
            task = tasks[index]
            return tuple((a.id, tuple(a.aliases)) for a in task.actors), task.evidence

        for _, group in groupby(sorted(range(len(tasks)), key=options), key=options):
            indices = list(group)
            first = tasks[indices[0]]
            try:
                scored = self.classifier.classify([tasks[i].article for i in indices], first.actors, first.evidence)
            except RequestError as error:
                raise InvalidArgument(str(error)) from None
            for index, result in zip(indices, scored):
                results[index] = result
        return results

    @bentoml.api(batchable=True, max_batch_size=8, max_latency_ms=120_000)
    def score_short(self, tasks: list[ScoreTask]) -> list[ArticleResult]:
        """Internal batching lane for articles up to LONG_ARTICLE_CHARS; use /classify."""
        return self._score(tasks)

    @bentoml.api(batchable=True, max_batch_size=2, max_latency_ms=300_000)
    def score_long(self, tasks: list[ScoreTask]) -> list[ArticleResult]:
        """Internal batching lane for long articles; use /classify."""
        return self._score(tasks)
