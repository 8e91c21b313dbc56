"""Completion webhooks' rules, without I/O: the signature a Standard Webhooks library verifies, the callback URLs a
tenant may use, the addresses a delivery may reach, and the retry schedule."""

import ipaddress
import time
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.webhooks import (
    LONGEST_RETRY_DELAY,
    InvalidCallbackUrl,
    address_allowed,
    check_allowed_host,
    check_callback_url,
    new_secret,
    retry_delay,
    signature,
)


@given(body=st.text(max_size=500), webhook_id=st.from_regex(r"msg_[0-9a-f]{32}", fullmatch=True))
def test_the_signature_verifies_with_the_standard_webhooks_library(body, webhook_id):
    secret, now = new_secret(), int(time.time())
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(now),
        "webhook-signature": signature(secret, webhook_id, now, body),
    }
    Webhook(secret).verify(body, headers, json_parse=False)  # raises if it does not verify
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + " ", headers, json_parse=False)


def test_secrets_are_fresh_and_in_the_libraries_format():
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_")


ALLOWED = ["hooks.example.com", "127.0.0.1", "localhost"]


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/taskflow", "https://HOOKS.example.com:8443/x?y=1", "https://127.0.0.1/local"],
)
def test_https_urls_on_allowed_hosts_are_accepted(url):
    assert check_callback_url(url, ALLOWED, allow_http_loopback=False) == url


@pytest.mark.parametrize(
    ("url", "allow_http_loopback", "reason"),
    [
        ("http://hooks.example.com/x", True, "only https"),
        ("http://127.0.0.1:9000/x", False, "only https"),
        ("ftp://hooks.example.com/x", True, "only https"),
        ("https://evil.example.com/x", False, "not among the tenant's allowed hosts"),
        ("https://hooks.example.com.evil.example/x", False, "not among"),
        ("https://user:pw@hooks.example.com/x", False, "credentials"),
        ("https://hooks.example.com:99999/x", False, "not a URL"),
        ("https:///nohost", False, "not among"),
        ("javascript:alert(1)", True, "only https"),
        ("https://hooks.example.com/" + "x" * 2000, False, "at most 2000"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url, allow_http_loopback, reason):
    with pytest.raises(InvalidCallbackUrl, match=reason):
        check_callback_url(url, ALLOWED, allow_http_loopback)


def test_plain_http_goes_to_loopback_only_and_only_where_the_setting_permits_it():
    for url in ("http://127.0.0.1:9000/hook", "http://localhost:9000/hook"):
        assert check_callback_url(url, ALLOWED, allow_http_loopback=True) == url
    with pytest.raises(InvalidCallbackUrl, match="only https"):
        check_callback_url("http://hooks.example.com/x", ALLOWED, allow_http_loopback=True)


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
     "fc00::1", "fe80::1", "::ffff:10.0.0.1", "::"],
)  # fmt: skip
def test_no_delivery_reaches_a_private_link_local_or_metadata_address(address):
    assert not address_allowed(ipaddress.ip_address(address), allow_loopback=True)


def test_loopback_only_where_the_setting_permits_it_and_public_addresses_always():
    for address in ("127.0.0.1", "::1"):
        assert address_allowed(ipaddress.ip_address(address), allow_loopback=True)
        assert not address_allowed(ipaddress.ip_address(address), allow_loopback=False)
    assert address_allowed(ipaddress.ip_address("93.184.215.14"), allow_loopback=False)


def test_retries_wait_four_times_longer_each_time_up_to_an_hour():
    first = timedelta(seconds=5)
    assert [retry_delay(n, first).total_seconds() for n in (1, 2, 3)] == [5, 20, 80]
    assert retry_delay(20, first) == LONGEST_RETRY_DELAY


@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:a00:1::1"])
def test_ipv4_addresses_embedded_in_ipv6_are_judged_as_themselves(address):
    assert not address_allowed(ipaddress.ip_address(address), allow_loopback=False)


def test_allowed_hosts_are_host_names_or_addresses():
    assert [check_allowed_host(h) for h in (" Hooks.Example.com", "127.0.0.1", "::1")] == [
        "hooks.example.com", "127.0.0.1", "::1"
    ]  # fmt: skip
    for bad in ("a..b", "x" * 64 + ".example.com", "hooks.example.com:8443", "https://x.example.com", "a/b", ""):
        with pytest.raises(InvalidTaskRequest, match="not a host name"):
            check_allowed_host(bad)


@pytest.mark.parametrize("url", ["https://hooks.example.com/ok\r\nX: y", " https://hooks.example.com/", "https://hooks.example.com/\t",
                                 "https://hooks.example.com:0/"])  # fmt: skip
def test_urls_with_control_characters_or_port_0_are_refused(url):
    with pytest.raises(InvalidCallbackUrl):
        check_callback_url(url, ALLOWED, allow_http_loopback=True)
