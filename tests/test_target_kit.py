"""The public target kit (``bulkdelete.targets``): its surface, the shared HTTP-answer classification, URL building."""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

import bulkdelete.targets as kit
from bulkdelete.records import Outcome
from bulkdelete.targets import (
    Action,
    Answer,
    Reply,
    UrlTemplate,
    answer_kind,
    describe_reply,
    error_fields,
    http_verdict,
    verdict_for,
)
from bulkdelete.targets.coveo import classify as coveo_classify

PACKAGE = Path(kit.__file__).resolve().parent.parent


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, body, CIMultiDictProxy(CIMultiDict(headers or {})), 1.5)


def test_the_public_surface_is_pinned_and_sorted() -> None:
    assert kit.__all__ == sorted(kit.__all__)
    assert set(kit.__all__) == {
        *("Action", "Answer", "ConfigError", "Outcome", "PluginContext", "Record", "Reply", "Secret", "Target"),
        "TargetPlugin",
        *("Transport", "TransportError", "UrlPrefix", "UrlTemplate", "Verdict", "answer_kind", "describe_reply"),
        *("error_fields", "error_text", "http_verdict", "parse_retry_after", "quote_path_segment"),
        *("quote_query_value", "scrub", "verdict_for"),
    }
    for name in kit.__all__:
        assert getattr(kit, name) is not None


def test_no_module_of_the_package_imports_a_private_name_from_another() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bulkdelete"):
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                offenders += [f"{path.relative_to(PACKAGE)}: {node.module}.{name}" for name in private]
    assert offenders == []


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, Answer.SUCCESS),
        (202, Answer.SUCCESS),
        (204, Answer.SUCCESS),
        (401, Answer.FATAL),
        (403, Answer.FATAL),
        (429, Answer.THROTTLED),
        (408, Answer.TRANSIENT),
        (500, Answer.TRANSIENT),
        (503, Answer.TRANSIENT),
        (599, Answer.TRANSIENT),
        (400, Answer.FINAL),
        (404, Answer.FINAL),
        (409, Answer.FINAL),
        (301, Answer.FINAL),
        (100, Answer.FINAL),
    ],
)
def test_answer_kind_by_status_alone(status: int, kind: Answer) -> None:
    assert answer_kind(status) is kind


def test_a_gone_status_is_ok_but_only_when_named() -> None:
    assert answer_kind(404, {404, 410}) is Answer.GONE
    assert answer_kind(410, {404, 410}) is Answer.GONE
    assert answer_kind(404) is Answer.FINAL
    assert answer_kind(200, {200}) is Answer.SUCCESS  # 2xx first, whatever the caller lists


def test_verdicts_per_kind() -> None:
    assert verdict_for(Answer.SUCCESS, reply(204), ok=Outcome.ACCEPTED)[:4] == (
        Action.DONE,
        Outcome.ACCEPTED,
        204,
        None,
    )
    gone = verdict_for(Answer.GONE, reply(404, b'{"message":"no such doc"}'))
    assert (gone.action, gone.outcome, gone.outcome.ok, gone.error) == (Action.DONE, Outcome.NOT_FOUND, True, None)
    fatal = verdict_for(
        Answer.FATAL, reply(401, b'{"code":"bad_key","message":"wrong key"}', headers={"X-Request-ID": "r1"})
    )
    assert (fatal.action, fatal.error) == (Action.ABORT, "401 bad_key: wrong key (X-Request-ID r1)")
    throttled = verdict_for(Answer.THROTTLED, reply(429, headers={"Retry-After": "7"}))
    assert (throttled.action, throttled.throttled, throttled.retry_after) == (Action.RETRY, True, 7.0)
    assert verdict_for(Answer.THROTTLED, reply(429)).retry_after is None
    transient = verdict_for(Answer.TRANSIENT, reply(503), error="503 down", batch="f1")
    assert transient[:4] == (Action.RETRY, Outcome.FAILED, 503, "503 down") and transient.batch == "f1"
    assert not transient.throttled
    final = verdict_for(Answer.FINAL, reply(400, b"bad id"))
    assert (final.action, final.outcome, final.error, final.latency_ms) == (
        Action.DONE,
        Outcome.FAILED,
        "400 HTTP error: bad id",
        1.5,
    )


def test_http_verdict_composes_kind_and_verdict() -> None:
    assert http_verdict(reply(410), gone={410}).outcome is Outcome.NOT_FOUND
    assert http_verdict(reply(410)).outcome is Outcome.FAILED
    assert http_verdict(reply(200)).outcome is Outcome.DELETED


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b'{"statusCode":400,"errorCode":"INVALID_PARAMETER","message":"bad"}', ("INVALID_PARAMETER", "bad")),
        (b'{"error":{"status":"RESOURCE_EXHAUSTED","message":"slow down"}}', ("RESOURCE_EXHAUSTED", "slow down")),
        (
            b'{"error":{"type":"index_not_found_exception","reason":"no such index"},"status":404}',
            ("index_not_found_exception", "no such index"),
        ),
        (
            b'{"message":"Document `x` not found.","code":"document_not_found","type":"invalid_request"}',
            ("document_not_found", "Document `x` not found."),
        ),
        (b'{"title":"Not Found","status":404,"detail":"gone"}', (None, "gone")),
        (b'{"error":"not_found"}', ("not_found", None)),
        (b"null", (None, "null")),
        (b"<html>Bad Gateway</html>", (None, "<html>Bad Gateway</html>")),
        (b"", (None, None)),
    ],
)
def test_error_fields_reads_the_usual_error_bodies(body: bytes, fields: tuple[str | None, str | None]) -> None:
    assert error_fields(body) == fields


def test_describe_reply_is_short() -> None:
    text = describe_reply(reply(500, b"x" * 10_000))
    assert text.startswith("500 HTTP error: xxx") and len(text) < 250


def test_coveo_composes_the_shared_rules_and_adds_its_own_fatal_codes() -> None:
    daily = coveo_classify(reply(429, b'{"errorCode":"TOO_MANY_DOCUMENTS_DAILY","message":"quota"}'))
    assert daily.action is Action.ABORT and not daily.throttled
    assert (
        coveo_classify(reply(429, b'{"errorCode":"TOO_MANY_REQUESTS"}', headers={"Retry-After": "2"})).retry_after
        == 2.0
    )
    assert coveo_classify(reply(400, b'{"errorCode":"ORGANIZATION_IS_PAUSED"}')).action is Action.ABORT
    assert coveo_classify(reply(202)).outcome is Outcome.ACCEPTED
    assert coveo_classify(reply(404)).outcome is Outcome.FAILED  # Coveo has no gone status: 404 is a wrong path


def test_url_template_puts_the_id_in_path_and_query_each_encoded_for_its_place() -> None:
    template = UrlTemplate("https://search.example.com/indexes/my index/documents/{id}?wait={id}&x=1")
    url = template.url("a/b ?#%+é")
    assert url.raw_path == "/indexes/my%20index/documents/a%2Fb%20%3F%23%25%2B%C3%A9"
    assert url.raw_query_string == "wait=a%2Fb%20%3F%23%25%2B%C3%A9&x=1"
    assert (template.scheme, template.host) == ("https", "search.example.com")
    assert template.url("..").raw_path == "/indexes/my%20index/documents/%2E%2E"
    assert UrlTemplate("http://127.0.0.1:8/d/{id}.json").url(".").raw_path == "/d/%2E.json"


@given(st.text(min_size=1))
def test_url_template_round_trips_any_id(record_id: str) -> None:
    url = UrlTemplate("http://127.0.0.1:9/rest/c/{id}?q={id}").url(record_id)
    segment = url.raw_path.removeprefix("/rest/c/")
    assert "/" not in segment
    assert unquote(segment, errors="strict") == record_id
    assert unquote(url.raw_query_string.removeprefix("q="), errors="strict") == record_id


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("https://h/docs/id", "has no {id}"),
        ("https://{id}.example.com/x", "not in the host"),
        ("https://h/docs/{id}#top", "fragment"),
        ("ftp://h/docs/{id}", "absolute http(s) URL"),
        ("/docs/{id}", "absolute http(s) URL"),
    ],
)
def test_url_template_refuses_what_cannot_work(template: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        UrlTemplate(template)
