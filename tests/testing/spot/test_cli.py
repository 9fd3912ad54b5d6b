"""``polo-fast exchange --api spot`` serves the Spot stand-in until Ctrl-C."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.testing.conftest import cli


def test_exchange_api_spot_serves_the_spot_stand_in() -> None:
    with cli("exchange", "--api", "spot", "--no-tls", "--port", "0") as banner:
        url = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert url is not None, banner
        with urllib.request.urlopen(url.group(0) + "/timestamp", timeout=10) as resp:
            assert isinstance(json.loads(resp.read())["serverTime"], int)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.group(0) + "/accounts/balances", timeout=10)
        assert refused.value.code == 401 and refused.value.read() == b""
