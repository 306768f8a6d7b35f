"""CX corrections on the real model: corrected texts read right after retraining, the rest holds.

Marked `model`: it reads the shipped tuned layers through the real default model. The training rows are
hand-written (a handful per set, like the shared sets' label conventions); the corrections are texts the
shipped model gets wrong, found at run time, so the test cannot pass on texts it already read right.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import storage
from sentiment import default_heads_dir, load_analyzer
from sentiment.corpora import Example
from sentiment.training import train_sentiment_head
from sentiment.types import SentimentLabel
from storage import cases, mentions, sources, users
from storage.enums import UserRole
from storage.mentions import NewMention
from tests.support.labelled import write_labelled_sets

# Brand jargon, irony and double negation: where a model trained on public sets is most often wrong, and
# what a CX team corrects first. (label, text)
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("negative", "Great, another update that logs me out every five minutes. Just what I needed."),
    ("negative", "Love waiting two hours on hold to hear that my ticket was closed."),
    ("negative", "Thanks for nothing, the refund is still not here after a month."),
    ("negative", "Wow, the third broken charger this year. Impressive quality control."),
    ("positive", "Honestly can't complain, the courier was early for once."),
    ("positive", "Not bad at all, the new app is not slow anymore."),
    ("positive", "This phone is sick, the camera is insane."),
    ("positive", "The battery is a beast, two days without charging."),
    ("negative", "Sure, blame the customer again. Classic support."),
    ("negative", "Oh perfect, charged twice and the chat bot says everything is fine."),
)
# Held out from training and corrections: the figure that must not drop.
DEV: tuple[tuple[str, str], ...] = (
    ("negative", "The order arrived damaged and the seller ignores my messages."),
    ("negative", "Terrible app, it crashes every time I try to pay."),
    ("negative", "The room smelled of smoke and the staff did not care."),
    ("negative", "I was charged for a subscription I cancelled last month."),
    ("negative", "客服态度太差了，退款拖了一个月。"),
    ("positive", "Fast shipping and the shoes fit perfectly."),
    ("positive", "The support agent fixed my account in two minutes, thank you!"),
    ("positive", "Lovely hotel, clean rooms and a great breakfast."),
    ("positive", "物流很快，质量很好，下次还来买。"),
    ("neutral", "The shop is closed on public holidays."),
    ("neutral", "My parcel is handled by the local post office."),
)


def _accuracy(analyzer_labels: list[str], gold: list[str]) -> float:
    return sum(a == g for a, g in zip(analyzer_labels, gold, strict=True)) / len(gold)


def test_corrections_are_learned_without_losing_held_out_accuracy(
    default_model_dir: Path, tmp_path: Path
) -> None:
    shipped = load_analyzer(default_model_dir, taxonomy=())
    read = shipped.analyze([text for _, text in CANDIDATES])
    wrong = [
        (label, text) for (label, text), r in zip(CANDIDATES, read, strict=True) if str(r.label) != label
    ]
    assert len(wrong) >= 3, "the shipped model reads these right; pick harder candidates"
    corrections = [Example(f"case-{i}", text, SentimentLabel(label)) for i, (label, text) in enumerate(wrong)]
    write_labelled_sets(tmp_path / "data")

    def retrain(out: Path, with_corrections: list[Example]) -> list[str]:
        train_sentiment_head(
            tmp_path / "data",
            default_model_dir,
            out,
            tuned_from=default_heads_dir(),
            corrections=with_corrections,
        )
        analyzer = load_analyzer(default_model_dir, heads_dir=out, taxonomy=())
        return [str(r.label) for r in analyzer.analyze([t for _, t in wrong] + [t for _, t in DEV])]

    without = retrain(tmp_path / "without", [])
    corrected = retrain(tmp_path / "with", corrections)

    assert corrected[: len(wrong)] == [label for label, _ in wrong]
    # Irony corrections move look-alike texts too ("Thanks for nothing" vs "thank you!"); on 200 hand-written
    # training rows one held-out text in 11 may follow. On the real train splits the figure that must hold
    # is dev accuracy within 0.5 points (sentiment/heads/README.md has that measurement).
    dev_gold = [label for label, _ in DEV]
    assert _accuracy(corrected[len(wrong) :], dev_gold) >= _accuracy(
        without[len(wrong) :], dev_gold
    ) - 1 / len(DEV)


def _seed_corrections(database: Path) -> None:
    """Each candidate flagged and corrected to its true label through the storage calls of the review UI."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    engine = storage.make_engine(f"sqlite:///{database}")
    storage.upgrade(engine)
    with storage.make_session_factory(engine)() as session, session.begin():
        source = sources.upsert_source(
            session,
            name="reviews",
            kind="rss",
            config={"url": "http://127.0.0.1/feed"},
            default_touchpoint=None,
        )
        new = [
            NewMention(
                source_id=source.id,
                external_id=f"m{i}",
                url=f"http://127.0.0.1/{i}",
                text=text,
                collected_at=now,
            )
            for i, (_, text) in enumerate(CANDIDATES)
        ]
        ids = mentions.insert_new_mentions(session, new).new_ids
        agent = users.create_user(session, username="ana", password_hash="x", role=UserRole.AGENT, now=now)
        for mention_id, (label, _) in zip(ids, CANDIDATES, strict=True):
            case_id = cases.open_case(
                session, mention_id=mention_id, reason="negative", severity="warning", now=now
            )
            assert case_id is not None
            correction = cases.CaseAction(kind="correct", label=SentimentLabel(label))
            cases.apply_action(session, case_id, correction, user_id=agent.id, now=now)
    engine.dispose()


def test_the_cli_shows_the_gain_of_training_with_corrections(default_model_dir: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VOCWATCH_DATA_DIR": str(tmp_path / "data"),
        "VOCWATCH_MODEL__DIR": str(default_model_dir),
    }

    def vocwatch(*args: str, heads: Path | None = None) -> subprocess.CompletedProcess[str]:
        extra = {"VOCWATCH_MODEL__HEADS_DIR": str(heads)} if heads is not None else {}
        return subprocess.run(
            [sys.executable, "-m", "vocwatch", *args],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    (tmp_path / "data").mkdir()
    _seed_corrections(tmp_path / "data" / "vocwatch.db")
    write_labelled_sets(tmp_path / "sets")
    before = vocwatch("eval", "--from-corrections", "--json")
    trained = vocwatch(
        "train", "--data-dir", str(tmp_path / "sets"), "--out", str(tmp_path / "heads"), "--with-corrections"
    )
    after = vocwatch("eval", "--from-corrections", "--json", heads=tmp_path / "heads")

    assert before.returncode == trained.returncode == after.returncode == 0, before.stderr + trained.stderr
    assert f"learned from {len(CANDIDATES)} CX correction(s)" in trained.stdout
    accuracy_before = json.loads(before.stdout)["sentiment"]["accuracy"]
    assert accuracy_before < 1.0  # the shipped model misreads some of them (else nothing is shown)
    assert json.loads(after.stdout)["sentiment"]["accuracy"] == 1.0
