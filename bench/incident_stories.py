"""A labelled day of negative mentions for `bench_incident_grouping.py`: which story each one belongs to.

Nine stories in four languages (en, de, es, zh) over 24 hours, plus one-off complaints as background
noise. Each story has a few ways of saying the same thing per language; a mention is one of them with a
customer's own ending, some are retweet-style copies of an earlier one, and the news and Hacker News
stories carry their shared URLs (with tracking parameters, as shared links do). The true story of each
mention is known, so a grouping can be scored (B-cubed precision, recall and F1).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Story:
    name: str
    sayings: dict[str, tuple[str, ...]]  # language -> ways customers put it
    start_h: float  # when the story breaks, hours into the day
    spread_h: float  # over how long its mentions come
    count: int
    url: str = ""  # a shared link every mention carries (news, a Hacker News thread)


@dataclass(frozen=True)
class LabelledMention:
    story: str  # the true story ("noise-N" for a one-off)
    text: str
    url: str
    at: datetime


STORIES = (
    Story(
        "parcel lost by the courier",
        {
            "en": (
                "My parcel never arrived, the courier says delivered but there was nothing at my door",
                "Tracking says delivered, no package anywhere, the driver clearly never came",
                "Third order this month marked delivered and never received, where is my parcel",
            ),
            "de": (
                "Mein Paket ist nie angekommen, laut Kurier zugestellt, aber nichts vor der Tür",
                "Sendung als zugestellt markiert, aber kein Paket da, der Fahrer war nie hier",
            ),
        },
        start_h=1,
        spread_h=6,
        count=70,
    ),
    Story(
        "charged twice at renewal",
        {
            "en": (
                "I was charged twice for my subscription renewal and nobody refunds the second charge",
                "Double billing again on my annual renewal, two payments taken from my card",
            ),
            "es": (
                "Me cobraron dos veces la renovación de la suscripción y nadie me devuelve el dinero",
                "Otra vez un cobro doble en la renovación anual, dos cargos en mi tarjeta",
            ),
        },
        start_h=3,
        spread_h=8,
        count=60,
    ),
    Story(
        "app crashes since the update",
        {
            "en": (
                "The app crashes every time I open it since the 5.2 update",
                "Since updating to 5.2 the app closes itself right after launch, unusable",
            ),
            "zh": ("更新到5.2以后，应用一打开就闪退", "新版本一直崩溃，打开就退出，完全没法用"),
        },
        start_h=6,
        spread_h=5,
        count=65,
    ),
    Story(
        "rude staff in the Madrid store",
        {
            "es": (
                "El personal de la tienda de Madrid fue muy grosero conmigo",
                "En la tienda de Madrid el dependiente me gritó y me trató fatal",
            ),
            "en": ("The staff at the Madrid store were incredibly rude to me",),
        },
        start_h=9,
        spread_h=6,
        count=50,
    ),
    Story(
        "login codes never arrive",
        {
            "en": (
                "I can't log in, the two-factor code never arrives by text",
                "Locked out of my account, the verification code SMS never comes",
            ),
            "de": (
                "Ich kann mich nicht anmelden, der Bestätigungscode per SMS kommt nie an",
                "Aus meinem Konto ausgesperrt, kein Login-Code kommt an",
            ),
        },
        start_h=11,
        spread_h=7,
        count=55,
    ),
    Story(
        "refund refused for a broken kettle",
        {
            "en": ("They refused my refund for a kettle that broke after one week",),
            "zh": ("水壶用了一周就坏了，客服拒绝退款", "坏掉的水壶申请退货退款被拒绝了"),
        },
        start_h=13,
        spread_h=6,
        count=50,
    ),
    Story(
        "customer data leak in the news",
        {
            "en": (
                "Globex leaked its customers' data and said nothing, read this",
                "Unbelievable data breach",
            ),
            "de": ("Globex hat Kundendaten verloren und schweigt, unglaublich",),
        },
        start_h=15,
        spread_h=5,
        count=50,
        url="https://news.example.com/2026/12/globex-data-leak",
    ),
    Story(
        "crushed boxes",
        {
            "zh": ("包装压坏了，盒子都扁了", "收到的箱子被压得变形，里面东西也坏了"),
            "en": ("The box arrived completely crushed and the contents were damaged",),
        },
        start_h=17,
        spread_h=5,
        count=50,
    ),
    Story(
        "outage thread on Hacker News",
        {
            "en": (
                "Globex is down again, third outage this month, their status page says all green",
                "Another Globex outage, nothing loads and support is silent",
            ),
        },
        start_h=19,
        spread_h=4,
        count=45,
        url="https://news.ycombinator.com/item?id=42424242",
    ),
)

ENDINGS = {
    "en": (
        "",
        " Never again.",
        " So annoyed.",
        " #fail",
        " Order 4821.",
        " Fix this!",
        " Really disappointed.",
    ),
    "de": ("", " Nie wieder.", " Sehr ärgerlich.", " Bestellung 4821.", " Unmöglich!"),
    "es": ("", " Nunca más.", " Qué vergüenza.", " Pedido 4821.", " ¡Arreglenlo ya!"),
    "zh": ("", "再也不买了。", "太失望了！", "订单4821。", "气死了"),
}
NOISE = (
    "The jacket costs far too much for what you get",
    "The headphones stopped working after two days",
    "The lamp looks nothing like the photos on the website",
    "The backpack came without the promised rain cover",
    "Your website logs me out every five minutes",
    "The gift card balance disappeared from my account",
    "The manual is only in Dutch, I cannot read it",
    "The phone case smells of chemicals",
    "The newsletter keeps coming although I unsubscribed twice",
    "Why is there no dark mode in the app after all these years",
    "The store in Leeds closes earlier than the opening hours say",
    "Your chatbot answers every question with the same link",
    "The loyalty points expired without any warning",
    "Checkout does not accept my postcode",
    "The sofa cushions went flat within a month",
    "Prices went up again without notice",
    "The voucher code from your advert does not work",
    "The size guide is completely wrong for the shoes",
    "Your survey emails are far too long",
    "The watch strap broke on the first day",
    "Der Kundenservice hat meine E-Mail nach zwei Wochen noch nicht beantwortet",
    "Die Größentabelle stimmt überhaupt nicht",
    "Der Gutschein wurde an der Kasse nicht angenommen",
    "Die Lieferkosten nach Österreich sind unverschämt",
    "Die App zeigt falsche Öffnungszeiten für die Filiale an",
    "La calidad de la tela es muy mala, se rompió al lavarla",
    "El envío internacional tardó un mes entero",
    "La aplicación no tiene versión en catalán",
    "El precio en la web no coincide con el de la tienda",
    "Nadie contesta en el chat de atención al cliente",
    "这个耳机的音质太差了，杂音很大",
    "客服电话一直打不通",
    "优惠券用不了，结账时一直报错",
    "衣服颜色和图片差别太大",
    "会员积分莫名其妙被清零了",
    "门店的营业时间和网上写的不一样",
)
"""One-off complaints, each its own story."""
SHARE_TAGS = ("?utm_source=twitter", "?utm_source=reddit&utm_medium=social", "?fbclid=IwAR0x", "")


def labelled_day(start: datetime, *, seed: int = 18) -> list[LabelledMention]:
    """The day's mentions in arrival order (see the module docstring)."""
    rng = random.Random(seed)
    out: list[LabelledMention] = []
    for story in STORIES:
        said: list[str] = []
        for _ in range(story.count):
            at = start + timedelta(
                hours=story.start_h + rng.triangular(0, story.spread_h, story.spread_h / 4)
            )
            if said and rng.random() < 0.1:
                text = "RT @" + rng.choice(("ana", "kai", "li", "sam")) + ": " + rng.choice(said)
            else:
                language = rng.choice(sorted(story.sayings))
                text = rng.choice(story.sayings[language]) + rng.choice(ENDINGS[language])
                said.append(text)
            tag = rng.choice(SHARE_TAGS)
            url = story.url + (tag.replace("?", "&") if "?" in story.url else tag) if story.url else ""
            out.append(LabelledMention(story.name, text, url, at))
    for n, text in enumerate(NOISE):
        at = start + timedelta(hours=rng.uniform(0, 24))
        out.append(LabelledMention(f"noise-{n}", text, "", at))
    return sorted(out, key=lambda m: m.at)


def b_cubed(truth: list[str], predicted: list[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering (Bagga & Baldwin 1998), item by item."""
    precision = recall = 0.0
    for i in range(len(truth)):
        same_pred = [j for j in range(len(truth)) if predicted[j] == predicted[i]]
        same_true = [j for j in range(len(truth)) if truth[j] == truth[i]]
        both = sum(1 for j in same_pred if truth[j] == truth[i])
        precision += both / len(same_pred)
        recall += both / len(same_true)
    precision, recall = precision / len(truth), recall / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall)
