"""``bulkdelete http delete --url TEMPLATE``: any REST API that deletes one item per request (SPEC §2.3)."""

from __future__ import annotations

from typing import Any

import click

from bulkdelete.cli import verify as checking
from bulkdelete.cli.common import apply, config_errors, delete_options, execute, replace, run_options
from bulkdelete.errors import ConfigError
from bulkdelete.targets.http import HttpCheck, HttpSettings, HttpTarget, http_settings

DEFAULT_RATE = "10"


@click.group()
def http() -> None:
    """Any REST API: one request per id, the id put into a URL template."""


DELETE_EPILOG = """\b
Examples:
  # Meilisearch: the key stays in the environment, ${MEILI_KEY} is expanded by bulkdelete
  bulkdelete http delete --url 'https://search.example.com/indexes/movies/documents/{id}' \\
      --header 'Authorization: Bearer ${MEILI_KEY}' ids.txt > results.jsonl
  # Elasticsearch, resumable, 100 requests per second
  bulkdelete http delete --url 'https://es.example.com:9200/products/_doc/{id}' \\
      --header 'Authorization: ApiKey ${ES_API_KEY}' --rate 100 --resume journal.jsonl ids.txt.gz
  # the emulator's REST endpoint
  bulkdelete http delete --url 'http://127.0.0.1:8787/rest/docs/{id}' --header 'Authorization: Bearer ${KEY}' ids.txt
"""


url_options = apply(
    [
        click.option(
            "--url",
            "url_template",
            metavar="TEMPLATE",
            help="Absolute URL with {id}: in the path the id is one percent-encoded segment ('/' included), in the "
            "query a query value. With --base-url, a path starting with '/'.  [required]",
        ),
        click.option(
            "--header",
            "headers",
            multiple=True,
            metavar="'NAME: VALUE'",
            help="Request header, repeatable. ${VAR} in VALUE is the environment variable VAR (a secret: never "
            "printed, never sent over plain http to a non-loopback host).",
        ),
        click.option(
            "--gone-status",
            default="404,410",
            show_default=True,
            metavar="CODES",
            help="Statuses meaning the item is gone: outcome not_found (ok), verdict gone. 'none' for none.",
        ),
    ]
)
check_options = apply(
    [
        click.option(
            "--verify-url",
            metavar="TEMPLATE",
            help="Where to check that an id is gone, with {id}  [default: --url].",
        ),
        click.option(
            "--verify-method",
            type=click.Choice(["GET", "HEAD"], case_sensitive=False),
            default="GET",
            show_default=True,
            help="How to check: a --gone-status answer is gone, a 2xx present.",
        ),
    ]
)


@http.command("delete", epilog=DELETE_EPILOG)
@delete_options(default_rate=DEFAULT_RATE)
@url_options
@click.option("--method", default="DELETE", show_default=True, help="HTTP method.")
@checking.delete_verify_options
@check_options
def http_delete(**params: Any) -> None:
    """Delete the items whose ids are read from FILES (none or '-': stdin), one request per id.

    Outcomes: 2xx deleted; a --gone-status code not_found (ok); 401/403 abort the run (exit 3); 408, 429 (every
    worker pauses, Retry-After honoured), 5xx and connection errors are retried; any other 4xx is failed.
    """
    with config_errors():
        options = run_options(params)
        settings = http_settings(
            _template(params.get("url_template"), params.get("base_url"), _from_command_line("base_url")),
            params["method"],
            () if options.dry_run else params["headers"],  # nothing is sent: no credentials needed
            params["gone_status"],
        )
        plan = checking.plan_from(params, lambda: HttpCheck(check_settings(params, settings)), lambda since: None)
        options = replace(options, secrets=(*settings.secrets, *options.secrets))  # options': proxy credentials
        target = HttpTarget(settings)
    if plan is not None:
        checking.execute_with_verify(target, options, None, plan)
    execute(target, options)


VERIFY_EPILOG = """\b
Examples:
  bulkdelete http verify --url 'https://search.example.com/indexes/movies/documents/{id}' \\
      --header 'Authorization: Bearer ${MEILI_KEY}' results.jsonl -o verdicts.jsonl
  bulkdelete http delete --url 'https://es.example.com:9200/products/_doc/{id}' ids.txt --verify verdicts.jsonl

Exit status: 0 every verdict gone, 1 some not, 2 usage error, 3 aborted, 130 interrupted.
"""


@http.command("verify", epilog=VERIFY_EPILOG)
@delete_options(default_rate=checking.DEFAULT_VERIFY_RATE)
@url_options
@checking.polling_options
@check_options
def http_verify(**params: Any) -> None:
    """Check that each item whose id is read from FILES (ids, or a delete run's result lines) is really gone:
    one GET (or HEAD) per id; a --gone-status answer is gone, a 2xx present."""
    with config_errors():
        options = checking.verify_run_options(params)
        verify = checking.polling(params)
        base = http_settings(
            _template(params.get("url_template") or params.get("verify_url"), params.get("base_url"), False),
            "GET",
            params["headers"],
            params["gone_status"],
        )
        check_ = HttpCheck(check_settings(params, base))
        options = replace(options, secrets=(*base.secrets, *options.secrets))
    checking.execute_verify(check_, options, verify, None)


checking.without_delete_only(http_verify)


def check_settings(params: dict[str, Any], settings: HttpSettings) -> HttpSettings:
    """The delete's settings pointed at ``--verify-url`` (default: the same URL) with ``--verify-method``."""
    url = params.get("verify_url")
    template = _template(url, params.get("base_url"), False) if url else settings.url.template
    headers = params["headers"]
    return http_settings(template, params["verify_method"], headers, params["gone_status"])


def _template(url: str | None, base_url: str | None, base_url_given: bool) -> str:
    """The whole URL template: ``--url`` itself, or ``--base-url`` + a ``--url`` path starting with ``/``.

    An absolute ``--url`` ignores a ``--base-url`` that came from the environment (``BULKDELETE_BASE_URL``, set for
    a whole job), but not one given on the command line next to it: which of the two was meant is unclear.
    """
    if not url:
        raise ConfigError("--url is required: the item's URL with {id}, e.g. 'https://api.example.com/items/{id}'")
    if url.startswith("/"):
        if base_url is None:
            raise ConfigError(f"--url {url!r} is a path: give the whole URL, or the API root with --base-url")
        return base_url.rstrip("/") + url
    if base_url is not None and base_url_given:
        raise ConfigError("with --base-url, --url is the path that follows it, starting with '/' (e.g. '/items/{id}')")
    return url


def _from_command_line(name: str) -> bool:
    return click.get_current_context().get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
