"""Which channel each feed arrives by, built from settings: exchange DB, sharing-platform API, file drops."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from datafactory.sources.channels import Channel, ChannelError
from datafactory.sources.channels.api import ApiChannel
from datafactory.sources.channels.exchange_db import ExchangeDbChannel
from datafactory.sources.channels.files import FileDropChannel
from datafactory.sources.landing import Landing, open_landing
from datafactory.sources.ledger import Ledger
from datafactory.specs import SourceSpec

CHANNELS = ("exchange_db", "api", "files")


@dataclass
class Upstream:
    exchange: sa.Engine | None = None
    api: ApiChannel | None = None
    landing: Landing | None = None

    @classmethod
    def from_settings(cls, settings) -> Upstream:
        api = None
        if settings.api_url:
            api = ApiChannel(settings.api_url, settings.api_key, settings.api_secret())
        landing = open_landing(settings.landing_url, settings.s3_endpoint_url) if settings.landing_url else None
        return cls(settings.exchange_engine(), api, landing)

    def channel(self, spec: SourceSpec, ledger: Ledger) -> Channel:
        if spec.channel == "exchange_db" and self.exchange is not None:
            return ExchangeDbChannel(self.exchange)
        if spec.channel == "api" and self.api is not None:
            return self.api
        if spec.channel == "files" and self.landing is not None:
            return FileDropChannel(self.landing, ledger.taken_files)
        if spec.channel not in CHANNELS:
            raise ChannelError(f"channel {spec.channel!r} is not one of {CHANNELS} (sources/{spec.name}.yaml)")
        hint = {
            "exchange_db": "DATAFACTORY_EXCHANGE_URL",
            "api": "DATAFACTORY_API_URL (datafactory run starts a simulated platform when it is unset)",
            "files": "DATAFACTORY_LANDING_URL",
        }[spec.channel]
        raise ChannelError(f"feed arrives by {spec.channel} but no such upstream is configured: set {hint}")
