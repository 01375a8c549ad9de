"""The environment's proxy for a URL (``qlara_async._proxy``), by httpx's rules."""

from __future__ import annotations

import base64

import pytest

from qlara_async import ValidationError
from qlara_async._proxy import EnvironmentProxies

HTTP = "http://proxy.local:3128"
ALL = "http://all.local:8080"


def _for(no_proxy: str, url: tuple[str, str, int | None], **proxies: str) -> str | None:
    found = {"http": HTTP, "https": HTTP, **proxies, "no": no_proxy}
    proxy = EnvironmentProxies({k: v for k, v in found.items() if v}).for_url(*url)
    return None if proxy is None else proxy.url


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("example.com", ("https", "example.com", None), True),
        ("example.com", ("https", "api.example.com", None), True),
        ("example.com", ("https", "badexample.com", None), False),
        (".example.com", ("https", "example.com", None), False),
        (".example.com", ("https", "api.example.com", None), True),
        ("*.example.com", ("https", "example.com", None), False),
        ("*.example.com", ("https", "api.example.com", None), True),
        ("EXAMPLE.com", ("https", "Api.Example.COM", None), True),
        ("example.com:8443", ("https", "example.com", 8443), True),
        ("example.com:8443", ("https", "example.com", None), False),
        ("example.com:443", ("https", "example.com", None), True),  # the default port
        ("10.1.2.3", ("http", "10.1.2.3", 80), True),
        ("10.1.2.3:9000", ("http", "10.1.2.3", 9000), True),
        ("10.1.2.3:9000", ("http", "10.1.2.3", 9001), False),
        ("10.0.0.0/8", ("http", "10.200.0.1", None), True),
        ("10.0.0.0/8", ("http", "11.0.0.1", None), False),
        ("::1", ("http", "::1", None), True),
        ("[::1]:8080", ("http", "::1", 8080), True),
        ("[::1]:8080", ("http", "::1", 8081), False),
        ("localhost", ("http", "localhost", 5000), True),
        ("http://example.com", ("http", "example.com", None), True),
        ("http://example.com", ("https", "example.com", None), False),
        ("all://example.com", ("https", "example.com", None), True),
        ("other.com, example.com ", ("https", "example.com", None), True),
        ("", ("https", "example.com", None), False),
        ("*", ("https", "anything.test", None), True),
        ("a.com,*", ("https", "anything.test", None), True),
    ],
)
def test_no_proxy_entries_match_as_curl_reads_them(
    no_proxy: str, url: tuple[str, str, int | None], bypassed: bool
) -> None:
    assert _for(no_proxy, url) == (None if bypassed else HTTP)


def _url(proxies: EnvironmentProxies, scheme: str, host: str, port: int | None = None) -> str:
    proxy = proxies.for_url(scheme, host, port)
    assert proxy is not None
    return proxy.url


def test_all_proxy_serves_a_scheme_without_its_own() -> None:
    proxies = EnvironmentProxies({"https": "https://tls.local:443", "all": "all.local:8080"})
    assert _url(proxies, "https", "api.test") == "https://tls.local:443"
    assert _url(proxies, "http", "api.test") == ALL  # host:port means http://
    assert EnvironmentProxies({}).for_url("https", "api.test", None) is None
    assert EnvironmentProxies({}).empty and EnvironmentProxies({"all": ALL, "no": "*"}).empty


def test_credentials_are_taken_out_of_the_url_decoded_and_masked() -> None:
    proxies = EnvironmentProxies({"all": "http://us%40er:p%23ss%2Fw%C3%B6rd@proxy.local:3128"})
    proxy = proxies.for_url("https", "api.test", None)
    assert proxy is not None
    assert proxy.url == "http://proxy.local:3128"
    assert proxy.credentials == ("us@er", "p#ss/wörd")
    assert proxy.authorization() == "Basic " + base64.b64encode("us@er:p#ss/wörd".encode()).decode(
        "ascii"
    )
    assert "p#ss" not in repr(proxy) and "<credentials>" in repr(proxy)
    assert proxies.secrets() == ["p#ss/wörd", "us@er:p#ss/wörd"]  # for the redactor
    token_only = EnvironmentProxies({"all": "http://:token@proxy.local"}).for_url("http", "a", 1)
    assert token_only is not None and token_only.credentials == ("", "token")


def test_a_socks_proxy_is_named_without_its_credentials() -> None:
    with pytest.raises(ValidationError) as info:
        EnvironmentProxies({"all": "socks5://user:s3cret@socks.local:1080"})
    assert info.value.field == "ALL_PROXY"
    assert "socks5://" in str(info.value) and "s3cret" not in str(info.value)
    # Text before "://" that is no scheme (a password, in a malformed value) is not shown.
    with pytest.raises(ValidationError) as info:
        EnvironmentProxies({"all": "user:pw9@host://proxy.local"})
    assert "pw9" not in str(info.value) and "malformed" in str(info.value)
    # httpx takes SOCKS with its socks extra, which this environment does not have.
    with pytest.raises(ValidationError, match=r"httpx\[socks\]") as info:
        EnvironmentProxies({"all": "socks5://user:s3cret@socks.local:1080"}, socks=True)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "http://user:s3cret#1@proxy.local:3128",  # unquoted: a fragment, "s3cret" a port
        "http://user:s3cret?1@proxy.local:3128",
        "http://user:s3cret/1@proxy.local:3128",
        "http://user:s3cret@proxy.local:99999",
        "http://user:s3cret@proxy.local:port",
        "http://user:s3cret@",
        "http://user:s3cret@[::1:3128",
        "http://proxy.local:3128/path",
    ],
)
def test_an_unusable_proxy_url_is_named_without_the_parsers_words(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        EnvironmentProxies({"https": value})
    assert info.value.field == "HTTPS_PROXY"
    assert "s3cret" not in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_the_environment_is_read_as_urllib_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", "http://all.local:8080")
    monkeypatch.setenv("no_proxy", "internal.test:8443")
    proxies = EnvironmentProxies()
    assert _url(proxies, "https", "api.test") == ALL
    assert proxies.for_url("https", "internal.test", 8443) is None
    assert _url(proxies, "https", "internal.test") == ALL
