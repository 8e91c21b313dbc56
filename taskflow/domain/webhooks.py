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
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in url):
        raise InvalidCallbackUrl("white space and control characters are not allowed")
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # raises ValueError for a port out of range
            raise ValueError("port 0")
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


# IPv6 prefixes that carry an IPv4 address in their last 32 bits, which a gateway may translate to: NAT64's.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    """Whether a delivery may connect to `address`: a public one, or loopback where the setting permits it. An IPv6
    address that embeds an IPv4 one (mapped, 6to4, NAT64) is judged by the IPv4 address too."""
    embedded = _embedded_ipv4(address)
    if embedded is not None and not address_allowed(embedded, allow_loopback):
        return False
    if address.is_loopback:
        return allow_loopback
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.version == 4:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if any(address in network for network in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_allowed_host(host: str) -> str:
    """`host`, lower case, if it is a host name (labels of 1 to 63 characters, IDNA-encodable) or an IP address;
    InvalidTaskRequest otherwise (a port, a scheme or a path included)."""
    host = host.strip().lower()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.split(".")
    try:
        encodable = all(1 <= len(label.encode("idna")) <= 63 for label in labels)
    except UnicodeError:
        encodable = False
    if not encodable or len(host) > 253 or any(not all(c.isalnum() or c == "-" for c in label) for label in labels):
        raise InvalidTaskRequest(
            f"allowed_hosts: {host!r} is not a host name", [{"field": "allowed_hosts", "message": "not a host name"}]
        )
    return host


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: `first`, then four times longer each time."""
    return min(first * 4 ** (attempts - 1), LONGEST_RETRY_DELAY)
