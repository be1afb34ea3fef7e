#!/usr/bin/env python3
"""An Airbyte-protocol source for rmq-connect's tests.

Each stream of `stream_names` emits records {"id": n, "stream": s, "pad": ...} for
n = cursor+1 .. count, with a STREAM state {"cursor": n} after every `state_every`
records and at the end. Its config chooses how it misbehaves (see `SPEC`).
"""
import json
import os
import signal
import sys
import time

SPEC = {
    "type": "object",
    "required": ["count"],
    "properties": {
        "count": {"type": "integer", "minimum": 1, "description": "records per stream"},
        "stream_names": {"type": "string", "default": "alpha,beta"},
        "state_every": {"type": "integer", "minimum": 1, "default": 10},
        "pad_bytes": {"type": "integer", "minimum": 0, "default": 0},
        "crash_after": {"type": "integer", "description": "exit 3 after this many records (first sync only, unless crash_always)"},
        "crash_always": {"type": "boolean", "default": False},
        "noise": {"type": "boolean", "default": False, "description": "non-JSON lines and unknown messages between records"},
        "long_line_at": {"type": "integer", "description": "print one line of long_line_bytes after this many records"},
        "long_line_bytes": {"type": "integer", "default": 10485760},
        "ignore_sigterm": {"type": "boolean", "default": False},
        "states_only": {"type": "integer", "description": "emit this many STATE messages and no record"},
        "trace_error": {"type": "string", "description": "emit a TRACE ERROR with this message, then exit 1"},
        "check_fails": {"type": "boolean", "default": False},
        "slow_ms": {"type": "integer", "default": 0, "description": "sleep between records"},
        "marker_file": {"type": "string", "description": "file that counts the syncs that crashed"},
        "token": {"type": "string", "airbyte_secret": True},
        "rotate_token": {"type": "boolean", "default": False, "description": "at the start of read, send a CONTROL message with token + '-rotated' (unless it ends so)"},
        "token_file": {"type": "string", "description": "file each read appends the token it was given to"},
        "calls_file": {"type": "string", "description": "file each check, discover and read appends its command to"},
    },
}


def out(msg):
    sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")


def arg(name):
    args = sys.argv[2:]
    return args[args.index(name) + 1] if name in args else None


def load(path):
    with open(path) as f:
        return json.load(f)


def streams(config):
    return [s for s in config.get("stream_names", "alpha,beta").split(",") if s]


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "spec":
        out({"type": "SPEC", "spec": {"connectionSpecification": SPEC}})
        return 0
    config = load(arg("--config"))
    if config.get("calls_file"):
        with open(config["calls_file"], "a") as f:
            f.write("%s\n" % cmd)
    if cmd == "check":
        if config.get("check_fails"):
            out({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": "the scripted source refuses this config"}})
        else:
            out({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
        return 0
    if cmd == "discover":
        out({"type": "CATALOG", "catalog": {"streams": [
            {"name": s, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh", "incremental"],
             "source_defined_cursor": True, "default_cursor_field": ["id"], "source_defined_primary_key": [["id"]]}
            for s in streams(config)]}})
        return 0
    if cmd != "read":
        sys.stderr.write("unknown command %r\n" % cmd)
        return 2
    if config.get("ignore_sigterm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    catalog = load(arg("--catalog"))
    state = load(arg("--state")) if arg("--state") else []
    cursors = {}
    for s in state if isinstance(state, list) else []:
        d = s.get("stream", {})
        cursors[d.get("stream_descriptor", {}).get("name")] = d.get("stream_state", {}).get("cursor", 0)
    sys.stderr.write("scripted source: reading from %s\n" % json.dumps(cursors))
    if config.get("token_file"):
        with open(config["token_file"], "a") as f:
            f.write("%s\n" % config.get("token", ""))
    token = config.get("token", "")
    if config.get("rotate_token") and not token.endswith("-rotated"):
        refreshed = dict(config, token=token + "-rotated")
        out({"type": "CONTROL", "control": {"type": "CONNECTOR_CONFIG", "emitted_at": time.time() * 1000, "connectorConfig": {"config": refreshed}}})
    if config.get("trace_error"):
        out({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 0, "error": {"message": config["trace_error"], "failure_type": "config_error"}}})
        return 1
    if config.get("states_only"):
        for i in range(config["states_only"]):
            for cs in catalog["streams"]:
                name = cs["stream"]["name"]
                out({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": {"cursor": cursors.get(name, 0), "beat": i}}}})
        return 0
    marker = config.get("marker_file")
    crashed_before = marker and os.path.exists(marker)
    pad = "x" * config.get("pad_bytes", 0)
    every = config.get("state_every", 10)
    emitted = 0
    for cs in catalog["streams"]:
        name = cs["stream"]["name"]
        start = cursors.get(name, 0)
        out({"type": "TRACE", "trace": {"type": "ESTIMATE", "emitted_at": 0, "estimate": {"name": name, "type": "STREAM", "row_estimate": config["count"] - start}}})
        since = 0
        for n in range(start + 1, config["count"] + 1):
            out({"type": "RECORD", "record": {"stream": name, "data": {"id": n, "stream": name, "pad": pad}, "emitted_at": int(time.time() * 1000)}})
            emitted += 1
            since += 1
            if config.get("noise") and n % 3 == 0:
                sys.stdout.write("a banner line that is not JSON\n")
                out({"type": "SOMETHING_NEW", "x": 1})
            if config.get("long_line_at") == emitted:
                sys.stdout.write("{" + '"type":"RECORD","record":{"stream":"%s","data":{"big":"' % name + "y" * config.get("long_line_bytes", 10485760) + '"}}}\n')
            if config.get("crash_after") == emitted and (config.get("crash_always") or not crashed_before):
                if marker:
                    open(marker, "a").write("crash\n")
                sys.stdout.flush()
                sys.stderr.write("scripted source: crashing on purpose\n")
                os._exit(3)
            if since == every:
                out({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": {"cursor": n}}, "sourceStats": {"recordCount": float(since)}}})
                since = 0
            if config.get("slow_ms"):
                time.sleep(config["slow_ms"] / 1000.0)
        out({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": {"cursor": config["count"]}}, "sourceStats": {"recordCount": float(since)}}})
    if config.get("ignore_sigterm"):
        while True:
            time.sleep(1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
