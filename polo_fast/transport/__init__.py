"""The wire: how a request reaches the exchange and how its answer comes back.

One room per job, each the only place that does it::

    base.py     the interface: Request, Head (what a key prebuilds), Transport (send, close,
                start: the client's one call per attempt)
    framing.py  request heads built once per key; read back (unframe) for aiohttp
    tls.py      the URL parsed once (HTTPS unless allow_insecure_http), the TLS context
    lane.py     the lean lane: keep-alive connections writing prebuilt requests, llhttp,
                answers classified in the protocol callback, keep-warm round trips
    aio.py      the aiohttp path: public GETs, proxies, fallback; no redirects, no
                compression, bounded answers, no reuse of a connection that spoke unasked
    answers.py  status + body -> result or typed error (one classifier per dialect: the
                legacy one is decode_answer), and translate(): lower exceptions -> errors
    http.py     HttpTransport: the lane for signed requests, aiohttp for the rest

Imports flow down: ``http`` -> ``lane``, ``aio`` -> ``answers``, ``framing``, ``tls``,
``base``; nothing here imports the client, the signer, the command table or the nonce.
A dialect hands its classifier (``classify=``) and its framed requests; the transport
knows no command and no nonce.
"""

from polo_fast._loop import new_event_loop
from polo_fast.transport.answers import (
    Classify,
    LaneFailure,
    decode,
    decode_answer,
    loads,
    translate,
)
from polo_fast.transport.base import USER_AGENT, Head, Request, Transport
from polo_fast.transport.http import DEFAULT_KEEP_WARM, DEFAULT_MAX_ANSWER_BYTES, HttpTransport
from polo_fast.transport.lane import Lane
from polo_fast.transport.tls import Origin, make_ssl_context, parse_origin

__all__ = [
    "DEFAULT_KEEP_WARM",
    "DEFAULT_MAX_ANSWER_BYTES",
    "USER_AGENT",
    "Classify",
    "Head",
    "HttpTransport",
    "Lane",
    "LaneFailure",
    "Origin",
    "Request",
    "Transport",
    "decode",
    "decode_answer",
    "loads",
    "make_ssl_context",
    "new_event_loop",
    "parse_origin",
    "translate",
]
