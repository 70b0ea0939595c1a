"""An example bulkdelete target plugin: ``DELETE {base}/rest/{collection}/{id}``, 204 deleted, 404 already gone."""

from collections.abc import Sequence

import click

from bulkdelete.targets import PluginContext, Record, TargetPlugin, Transport, UrlTemplate, Verdict, http_verdict


class ExampleTarget:
    name, batch_size, batch_bytes = "example", 1, None

    def __init__(self, context: PluginContext) -> None:
        self.url = UrlTemplate(f"{context.base_url}/rest/{context.params['collection']}/{{id}}")
        self.headers = {"Authorization": f"Bearer {context.secrets['EXAMPLE_API_KEY'].reveal()}"}

    def validate(self, record_id: str) -> str | None:
        return None  # any id: UrlTemplate encodes it as one path segment

    def record_bytes(self, record_id: str) -> int:
        return len(record_id)

    async def send(self, transport: Transport, records: Sequence[Record]) -> Sequence[Verdict]:
        reply = await transport.request("DELETE", self.url.url(records[0].id), headers=self.headers)
        return [http_verdict(reply, gone={404})]  # 2xx deleted, 404 not_found; 401/403, 429, 5xx as always


plugin = TargetPlugin(
    make_target=ExampleTarget,
    help="Example API: DELETE {base}/rest/{collection}/{id}.",
    options=[click.Option(["--collection"], required=True, help="Collection to delete from.")],
    secrets=["EXAMPLE_API_KEY"],
)
