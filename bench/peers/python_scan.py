"""bench/peers/python_scan.py — the "write it yourself in Python" peer.

Run through bench/peers/python-scan (which uses the venv made by bench/peers/install).

Reads every document of an index the way the Elasticsearch Python client documents it,
`elasticsearch.helpers.scan(client, index=..., size=P)`: scroll API, preserve_order=False,
i.e. the client sorts by `_doc` (the cheapest order; no sort field is used unless
--preserve-order is given, then the query sorts by --sort-field and scan keeps that order).

With --namesrv and --topic each hit's `_source` is sent as one JSON message (key = the
document's `_id`) to the topic, with one of two clients (--client):

* remoting (default): rocketmq-client-python 0.5.0rc2, the last PyPI release that bundles
  the native librocketmq (see bench/peers/install); talks to the name server and broker
  directly.  Its Python API has no batch send (the native library has SendBatchMessage, the
  wrapper does not expose it), so a user writes one `Producer.send_sync` per document.  The
  topic is auto-created by the broker (autoCreateTopicEnable=true).
* grpc: rocketmq-python-client 5.1.2 (apache/rocketmq-clients), which speaks gRPC to a
  RocketMQ proxy (bench/peers/rocketmq-proxy start; --proxy, default 127.0.0.1:8181).  No
  batch send either: one synchronous `Producer.send` per document.  The topic must exist
  (the proxy does not auto-create it; e.g. `rmq-services mqadmin updateTopic -c
  DefaultCluster -t T`).  --namesrv is not used by this client.

A non-OK send (or an exception) stops the run at once: the JSON is still printed, its note
names the error, and the exit status is 1.

Prints ONE line of JSON on stdout:
  {"docs": N, "seconds": S, "sink": "rocketmq"|"none", "client": "pkg==ver"|null, "note": "..."}
`seconds` runs from the first search request to the last acknowledged send (producer start
and shutdown are excluded).
"""

import argparse
import json
import socket
import sys
import time
from importlib import metadata

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

CLIENT_DIST = {"remoting": "rocketmq-client-python", "grpc": "rocketmq-python-client"}


class RemotingSink:
    """rocketmq-client-python: one send_sync per document."""

    def __init__(self, args):
        from rocketmq.client import Message, Producer, SendStatus

        self._message, self._ok, self._topic = Message, SendStatus.OK, args.topic
        self._producer = Producer(args.group)
        self._producer.set_namesrv_addr(args.namesrv)
        self._producer.start()

    def send(self, key, body):
        """Returns None when the broker acknowledged the message, else the reason."""
        msg = self._message(self._topic)
        msg.set_keys(key)
        msg.set_body(body)
        result = self._producer.send_sync(msg)
        return None if result.status == self._ok else f"send status {result.status!r}"

    def close(self):
        self._producer.shutdown()


class GrpcSink:
    """rocketmq-python-client (gRPC through a proxy): one synchronous send per document."""

    def __init__(self, args):
        from rocketmq import ClientConfiguration, Credentials, Message, Producer

        # Without a proxy the client only says "failed to fetch topic route" later: say why now.
        host, _, port = args.proxy.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except (OSError, ValueError) as e:
            sys.exit(f"python-scan: no RocketMQ proxy at --proxy {args.proxy} ({e}); "
                     "start one with bench/peers/rocketmq-proxy start")
        self._message, self._topic = Message, args.topic
        config = ClientConfiguration(args.proxy, Credentials(), request_timeout=10)
        self._producer = Producer(config, (args.topic,))
        self._producer.startup()

    def send(self, key, body):
        msg = self._message()
        msg.topic = self._topic
        msg.keys = key
        msg.body = body.encode()
        self._producer.send(msg)  # raises on failure
        return None

    def close(self):
        self._producer.shutdown()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--es", required=True, help="Elasticsearch URL, e.g. http://127.0.0.1:9200")
    p.add_argument("--index", required=True, help="index (or pattern) to read")
    p.add_argument("--page-size", type=int, required=True, help="scan size= (hits per scroll page)")
    p.add_argument("--sort-field", required=True,
                   help="sort field; only used with --preserve-order (scan's default sorts by _doc)")
    p.add_argument("--preserve-order", action="store_true",
                   help="sort by --sort-field and pass preserve_order=True to scan (slower)")
    p.add_argument("--namesrv", help="RocketMQ name server host:port; with --topic, send to RocketMQ")
    p.add_argument("--topic", help="RocketMQ topic to send each _source to")
    p.add_argument("--group", default="bench_peers_python_scan", help="producer group (remoting client)")
    p.add_argument("--client", choices=("remoting", "grpc"), default="remoting",
                   help="RocketMQ client: remoting (rocketmq-client-python) or grpc (rocketmq-python-client via a proxy)")
    p.add_argument("--proxy", default="127.0.0.1:8181", help="proxy gRPC endpoint for --client grpc")
    args = p.parse_args()
    if args.page_size <= 0:
        p.error("--page-size must be a positive integer")
    if args.client == "remoting" and bool(args.namesrv) != bool(args.topic):
        p.error("--namesrv and --topic go together")
    return args


def main():
    args = parse_args()
    es = Elasticsearch(args.es, request_timeout=120)
    kwargs = {}
    if args.preserve_order:
        kwargs["query"] = {"sort": [{args.sort_field: "asc"}]}
    notes = []
    if args.preserve_order:
        notes.append(f"helpers.scan size={args.page_size}, preserve_order=True, sort {args.sort_field} asc")
    else:
        notes.append(f"helpers.scan size={args.page_size}, preserve_order=False (scroll sorted by _doc; --sort-field unused)")

    producer = None
    client = None
    if args.topic:
        dist = CLIENT_DIST[args.client]
        try:
            client = f"{dist}=={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            client = None
        if args.client == "remoting":
            try:
                producer = RemotingSink(args)
            except (ImportError, OSError) as e:
                # No usable Python RocketMQ client on this machine (for example no native
                # librocketmq): the issue asks for scan alone then, said plainly.
                client = None
                notes.append(f"scan alone: no Python RocketMQ client loads here ({type(e).__name__}: {e})")
            else:
                notes.append(f"remoting client, one Producer.send_sync per doc to topic {args.topic} "
                             "(the Python API has no batch send)")
        else:
            producer = GrpcSink(args)
            notes.append(f"gRPC client via proxy {args.proxy}, one synchronous Producer.send per doc "
                         f"to topic {args.topic} (no batch send)")
    else:
        notes.append("scan only: no RocketMQ sink requested")

    docs = 0
    failed = 0
    first_error = None
    start = time.monotonic()
    try:
        for hit in scan(es, index=args.index, size=args.page_size, preserve_order=args.preserve_order, **kwargs):
            docs += 1
            if producer is None:
                continue
            try:
                error = producer.send(hit["_id"], json.dumps(hit["_source"], separators=(",", ":")))
            except Exception as e:  # both clients raise their own exception types
                error = f"{type(e).__name__}: {e}"
            if error:  # a benchmark with lost messages means nothing: stop at the first
                failed += 1
                first_error = error
                break
        seconds = time.monotonic() - start
    finally:
        if producer is not None:
            producer.close()

    if failed:
        notes.append(f"stopped at the first failed send (doc {docs}): {first_error}")
    print(json.dumps({
        "docs": docs,
        "seconds": round(seconds, 3),
        "sink": "rocketmq" if producer is not None else "none",
        "client": client,
        "note": "; ".join(notes),
    }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
