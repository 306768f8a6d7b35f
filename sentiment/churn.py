"""Churn risk: does the mention say the customer is leaving, cancelling, or not coming back?

Two signals, because each alone fails: keywords are precise but only in the languages and phrasings
listed, and embeddings generalise across languages but confuse "leaving" with "angry". The embedding
signal is a nearest-prototype classifier: the text's best similarity to statements of leaving (in many
languages) against its best similarity to complaints and praise that do not leave; a softmax over the two
turns the contrast into a probability. Keywords lift the score to at least `KEYWORD_SCORE`. A clearly
positive text ("switched to them and never looked back!") is about arriving, not leaving: the score is
scaled down by the text's positive probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sentiment.topics import Embed, keyword_pattern

LEAVING = (
    "I am cancelling my subscription",
    "I'm switching to a competitor",
    "never ordering from them again",
    "I will never come back",
    "I'm done with this company, closing my account",
    "I want my money back and I am leaving",
    "deleted the app, goodbye",
    "moving to another provider next month",
    "last time I buy from this brand",
    "再也不买了",
    "我要退订",
    "已经卸载了",
    "换别家了",
    "以后再也不来了",
    "注销账号",
    "Ich kündige mein Abo",
    "Nie wieder bei diesem Laden",
    "voy a cancelar mi suscripción",
    "je me désabonne, c'est fini",
    "もう二度と買わない",
    "解約します",
    "다시는 안 사요",
)
STAYING = (
    "the delivery was late again",
    "customer service was rude",
    "the product broke after a week",
    "the price is too high",
    "the app crashes sometimes",
    "I can't log into my account",
    "where is my refund?",
    "the store opens at nine",
    "I love this shop, will buy again",
    "great service, thank you",
    "when will the new model come out?",
    "快递太慢了",
    "质量一般",
    "下次还会再来",
    "客服态度不好",
    "Die Lieferung war zu spät",
    "el producto es bueno",
    "le service est lent",
    "配達が遅い",
)
KEYWORDS = (
    "cancel my",
    "cancelling my",
    "canceling my",
    "unsubscribe",
    "unsubscribed",
    "never again",
    "never ordering",
    "never buying",
    "never coming back",
    "switching to",
    "switched to",
    "close my account",
    "closing my account",
    "delete my account",
    "deleted the app",
    "uninstalled",
    "uninstalling",
    "kündige",
    "gekündigt",
    "nie wieder",
    "darme de baja",
    "cancelar mi",
    "résilier",
    "désabonner",
    "退订",
    "退会",
    "再也不买",
    "再也不来",
    "再也不会",
    "卸载",
    "注销",
    "取关",
    "换别家",
    "拉黑",
    "解約",
    "二度と",
)
TEMPERATURE = 0.02
"""Softmax temperature over the two best similarities: a 0.02 cosine lead gives ~73%."""
KEYWORD_SCORE = 0.8
POSITIVE_DAMPING = 0.6
"""How much a fully positive text's churn score is reduced (1.0 would zero it)."""


@dataclass(frozen=True, eq=False)  # numpy fields
class ChurnDetector:
    """Prototype embeddings (leaving / staying), embedded once at load time, plus the keyword list."""

    leaving: NDArray[np.float32]
    staying: NDArray[np.float32]
    keywords: tuple[str, ...] = KEYWORDS

    @classmethod
    def build(cls, embed: Embed) -> ChurnDetector:
        vectors = embed([*LEAVING, *STAYING])
        return cls(leaving=vectors[: len(LEAVING)], staying=vectors[len(LEAVING) :])

    def scores(
        self, vectors: NDArray[np.float32], texts: Sequence[str], p_positive: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """Churn risk in 0..1 per text, from normalised embeddings and the texts' positive probability."""
        leave = (vectors @ self.leaving.T).max(axis=1)
        stay = (vectors @ self.staying.T).max(axis=1)
        by_meaning = 1.0 / (1.0 + np.exp(-(leave - stay) / TEMPERATURE))
        pattern = keyword_pattern(self.keywords)
        by_keyword = np.asarray(
            [KEYWORD_SCORE if pattern.search(text) else 0.0 for text in texts], dtype=np.float32
        )
        combined = 1.0 - (1.0 - by_meaning) * (1.0 - by_keyword)
        result: NDArray[np.float32] = (combined * (1.0 - POSITIVE_DAMPING * p_positive)).astype(np.float32)
        return result
