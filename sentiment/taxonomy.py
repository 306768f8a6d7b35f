"""Topic taxonomy: what a mention can be about, described in words the encoder understands.

A topic is matched by meaning (the mention's clauses are compared with the description and the example
phrases, in any language: the encoder is multilingual) and, optionally, by keywords that count as a hit on
their own. The default taxonomy covers what consumer brands hear about most; operators replace or extend it
in configuration. Examples carry most of the weight: short, concrete phrases the way customers write them,
in several languages, work better than one abstract description.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TopicDefinition:
    """One topic: a stable `name` (stored, routed on), a description, example phrases, optional keywords.

    Keywords match case-insensitively as whole words in alphabetic scripts and as substrings in Chinese,
    Japanese and Korean; use them for unambiguous product or feature names the encoder cannot know.
    """

    name: str
    description: str
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a topic needs a name")
        if not self.description.strip() and not self.examples:
            raise ValueError(f"topic {self.name!r} needs a description or examples to be matched by")

    @property
    def phrases(self) -> tuple[str, ...]:
        """What the encoder compares a clause with: the description and every example."""
        return tuple(p for p in (self.description, *self.examples) if p.strip())


def taxonomy_version(taxonomy: Sequence[TopicDefinition]) -> str:
    """A short hash of the whole taxonomy: stored analyses can be traced to the topics that produced them."""
    names = [topic.name for topic in taxonomy]
    if len(set(names)) != len(names):
        raise ValueError(f"topic names must be unique, got {names}")
    payload = json.dumps([asdict(topic) for topic in taxonomy], ensure_ascii=False, sort_keys=True)
    return "taxonomy." + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]


DEFAULT_TAXONOMY: tuple[TopicDefinition, ...] = (
    TopicDefinition(
        name="delivery",
        description="Delivery and shipping: late, slow, lost or damaged parcels, couriers, tracking.",
        examples=(
            "the delivery took two hours",
            "my parcel never arrived",
            "shipping was fast",
            "the courier left the package at the wrong address",
            "tracking has not updated for a week",
            "快递太慢了",
            "配送员送错地址了",
            "外卖送了两个小时",
            "物流很快",
            "Die Lieferung kam drei Tage zu spät",
            "el pedido llegó tarde",
            "le colis n'est jamais arrivé",
            "配達が遅い",
        ),
        keywords=("courier", "shipping", "快递", "物流", "配送"),
    ),
    TopicDefinition(
        name="billing",
        description="Prices and billing: too expensive, overcharged, hidden fees, invoices, payment.",
        examples=(
            "they charged me twice",
            "way too expensive for what you get",
            "hidden fees on my bill",
            "the price went up again without notice",
            "my card payment failed",
            "great value for money",
            "价格太贵了",
            "被多扣了钱",
            "性价比很高",
            "Die Rechnung ist falsch",
            "me cobraron dos veces",
            "le prix a encore augmenté",
            "料金が高すぎる",
        ),
        keywords=("invoice", "overcharged", "扣费", "发票"),
    ),
    TopicDefinition(
        name="product_quality",
        description="Quality of the product or food: broken, defective, cheap materials, taste, freshness.",
        examples=(
            "the product broke after one day",
            "cheap plastic that feels flimsy",
            "the food was cold and tasteless",
            "the battery dies within an hour",
            "excellent build quality",
            "the food was delicious",
            "the fabric feels soft and well made",
            "质量太差了",
            "用了一天就坏了",
            "菜很难吃",
            "东西很好，质量不错",
            "Die Qualität ist schlecht",
            "la calidad es pésima",
            "le produit est de mauvaise qualité",
            "品質が悪い",
        ),
    ),
    TopicDefinition(
        name="customer_support",
        description="Customer support: reaching support, waiting times, tickets, unhelpful answers.",
        examples=(
            "customer service never answered my emails",
            "I waited forty minutes on the phone",
            "support closed my ticket without fixing anything",
            "the chatbot is useless",
            "support solved my problem quickly",
            "客服一直不回复",
            "打了好几次客服电话都没人接",
            "客服很耐心",
            "Der Kundenservice antwortet nicht",
            "el servicio al cliente no responde",
            "le service client est injoignable",
            "サポートの対応が遅い",
        ),
        keywords=("hotline", "客服"),
    ),
    TopicDefinition(
        name="app_bugs",
        description="App or website problems: crashes, errors, bugs, slow loading, broken checkout.",
        examples=(
            "the app keeps crashing",
            "the website shows an error at checkout",
            "the page will not load",
            "the latest update broke everything",
            "notifications stopped working",
            "app闪退",
            "网站打不开",
            "更新以后一直报错",
            "Die App stürzt ständig ab",
            "la aplicación se cierra sola",
            "le site plante au paiement",
            "アプリがすぐ落ちる",
        ),
        keywords=("crash", "crashes", "bug", "闪退", "卡顿"),
    ),
    TopicDefinition(
        name="account_login",
        description="Account access: cannot log in, password reset, verification codes, locked account.",
        examples=(
            "I can't log into my account",
            "the password reset email never comes",
            "my account was locked for no reason",
            "the verification code never arrives",
            "someone hacked my account",
            "账号登录不上",
            "收不到验证码",
            "账号被封了",
            "Ich kann mich nicht einloggen",
            "no puedo iniciar sesión",
            "impossible de me connecter à mon compte",
            "ログインできない",
        ),
        keywords=("login", "log in", "password", "2fa", "登录", "验证码", "密码"),
    ),
    TopicDefinition(
        name="refunds_returns",
        description="Refunds, returns and exchanges: asking for money back, return process, refund delays.",
        examples=(
            "I want a refund",
            "still waiting for my refund after a month",
            "they refused to take the item back",
            "returning it was easy",
            "申请退款一直没处理",
            "退货太麻烦了",
            "我要退款",
            "Ich warte immer noch auf meine Rückerstattung",
            "quiero que me devuelvan el dinero",
            "le remboursement n'arrive pas",
            "返金してほしい",
        ),
        keywords=("refund", "refunds", "chargeback", "退款", "退货", "退钱"),
    ),
    TopicDefinition(
        name="staff_attitude",
        description="How staff treat customers: rude, unfriendly, arrogant, or kind and helpful employees.",
        examples=(
            "the staff were rude to us",
            "the cashier ignored me",
            "the waiter was very friendly",
            "the driver shouted at me",
            "服务员态度很差",
            "前台态度恶劣",
            "店员很热情",
            "Das Personal war unfreundlich",
            "el personal fue muy amable",
            "le serveur était impoli",
            "店員の態度が悪い",
        ),
        keywords=("服务态度",),
    ),
    TopicDefinition(
        name="packaging",
        description="Packaging: box crushed, leaking, badly packed, too much plastic, or well packed.",
        examples=(
            "the box was crushed",
            "the bottle was leaking in the bag",
            "way too much plastic packaging",
            "it was packed very carefully",
            "包装破了",
            "汤洒了一袋子",
            "包装很仔细",
            "Die Verpackung war beschädigt",
            "el paquete llegó roto",
            "梱包が雑だった",
        ),
        keywords=("packaging", "包装"),
    ),
)
