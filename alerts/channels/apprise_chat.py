"""Send a digest to chat services and webhooks through Apprise (Slack, Teams, Matrix, Telegram,
Discord, e-mail gateways, json:// webhooks...), one transport for all of them.

The URLs carry tokens, so they come only from the environment variable the channel names
(`apprise_urls_env`, space-separated). The body is the digest's plain text: chat clients render
text safely, and no HTML from crawled pages ever reaches them.
"""

from __future__ import annotations

import os

import apprise

from alerts.channels.email import SendFailed
from alerts.digest import Digest
from alerts.render import render_text, subject
from monitor.config import ChannelConfig

MAX_BODY = 30_000  # chat services cut long messages; the digest says where the rest is


def send(channel: ChannelConfig, digest: Digest) -> str:
    urls = os.environ.get(channel.apprise_urls_env, "").split()
    if not urls:
        raise SendFailed(f"no Apprise URLs in {channel.apprise_urls_env}")
    notifier = apprise.Apprise()
    for url in urls:
        if not notifier.add(url):
            raise SendFailed(f"{channel.apprise_urls_env}: an Apprise URL is not valid")
    body = render_text(digest)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n[... the digest continues: see the e-mail or the feed]"
    if not notifier.notify(title=subject(digest), body=body, body_format=apprise.NotifyFormat.TEXT):
        raise SendFailed(f"Apprise could not deliver to {len(urls)} target(s) of {channel.apprise_urls_env}")
    return f"apprise:{channel.name}:{digest.first_event_id}-{digest.last_event_id}"
