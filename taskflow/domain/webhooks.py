"""Completion webhooks, in the Standard Webhooks format (standardwebhooks.com): the rules a callback URL must meet,
the signature, and the retry schedule. No I/O here.

A callback goes only to a host its tenant allows, over https; and whatever the tenant allows, only to public
addresses (checked again at each delivery, on the addresses the name resolves to then), so that the feature is no
way into the network the system runs in. Plain http to loopback is for the dev stack, behind a setting.
"""

import base64
import hashlib
import hmac
import ipaddress
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from taskflow.domain.errors import InvalidTaskRequest

SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000
MAX_ALLOWED_HOSTS = 20
# The longest wait between two attempts of one delivery.
LONGEST_RETRY_DELAY = timedelta(hours=1)


class InvalidCallbackUrl(InvalidTaskRequest):
    """A callback_url the tenant may not use."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"callback_url: {reason}", [{"field": "callback_url", "message": reason}])


def new_secret() -> str:
    """A fresh signing secret: whsec_ and 24 random bytes in base64, as Standard Webhooks' libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header: v1, then the HMAC-SHA256 of "id.timestamp.body" under the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_callback_url(url: str, allowed_hosts: list[str], allow_http_loopback: bool) -> str:
    """`url` if the tenant may send callbacks there; InvalidCallbackUrl saying why not otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidCallbackUrl(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        raise InvalidCallbackUrl(f"not a URL: {error}") from None
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None:
        raise InvalidCallbackUrl("credentials in the URL are not allowed; sign with the webhook secret instead")
    if parts.scheme == "http" and allow_http_loopback and is_loopback_name(host):
        pass
    elif parts.scheme != "https":
        raise InvalidCallbackUrl("only https URLs are allowed")
    if not host or host not in allowed_hosts:
        raise InvalidCallbackUrl(f"host {host or '(none)'!r} is not among the tenant's allowed hosts (PUT /webhooks)")
    return url


def is_loopback_name(host: str) -> bool:
    """Whether `host` names this machine: localhost, or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    """Whether a delivery may connect to `address`: a public one, or loopback where the setting permits it."""
    if address.is_loopback:
        return allow_loopback
    return address.is_global and not address.is_multicast


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: `first`, then four times longer each time."""
    return min(first * 4 ** (attempts - 1), LONGEST_RETRY_DELAY)
