"""The pure parts of `notifier.slackapi`: what counts as a channel ID, and how long a 429 asks us to wait."""

from __future__ import annotations

from typing import Any

import pytest

from notifier.slackapi import is_channel_id, retry_after_s


@pytest.mark.parametrize(
    "channel",
    [
        "C0123456789",  # today's IDs: a letter and 10 more
        "C024BE91L",  # older workspaces: a letter and 8 more
        "G0PRIVATE01",  # an older private channel
        "D0123456789",  # a direct message
    ],
)
def test_slack_conversation_ids_are_channel_ids(channel: str) -> None:
    assert is_channel_id(channel)


@pytest.mark.parametrize(
    "channel",
    [
        "cx-alerts",
        "#cx-alerts",
        "c0123456789",  # names are lower case, IDs never are
        "C1",  # too short for an ID: looked up as a name instead of sent to Slack as a broken ID
        "GENERAL",
        "X0123456789",  # not a conversation prefix
        "C0123456789 ",
        "C０１２３４５６７８",  # full-width digits are alphanumeric to Python, not to Slack
        "",
    ],
)
def test_names_and_malformed_ids_are_not_channel_ids(channel: str) -> None:
    assert not is_channel_id(channel)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": ["2"]}, 2.0),  # slack_sdk may hand header values as lists
        ({"Retry-After": "0"}, 1.0),  # never an immediate retry
        ({"Retry-After": "soon"}, 60.0),
        ({}, 60.0),
    ],
)
def test_retry_after_is_read_in_any_case_and_defaults_when_missing(
    headers: dict[str, Any], expected: float
) -> None:
    assert retry_after_s(headers, default=60.0) == expected
