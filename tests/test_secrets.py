"""Secrets: masked in repr, scrubbed from texts people see, and never mangling ordinary words."""

from __future__ import annotations

from bulkdelete.secrets import MASK, Secret, scrub


def test_a_secret_never_shows_in_repr_or_str() -> None:
    secret = Secret("xx-1234-abcd-5678")
    assert "1234" not in repr(secret) and "1234" not in str(secret) and "1234" not in f"{secret}"
    assert secret.reveal() == "xx-1234-abcd-5678"


def test_scrub_masks_every_occurrence_of_a_real_length_secret() -> None:
    text = "401 INVALID_TOKEN: token xx-1234-abcd-5678 rejected (xx-1234-abcd-5678)"
    assert scrub(text, [Secret("xx-1234-abcd-5678")]) == f"401 INVALID_TOKEN: token {MASK} rejected ({MASK})"


def test_scrub_leaves_text_alone_for_a_token_too_short_to_be_real() -> None:
    summary = "bulkdelete velt: 8 records in 0.4 s: 8 ok, 0 not ok"
    assert scrub(summary, [Secret("t"), Secret("")]) == summary
