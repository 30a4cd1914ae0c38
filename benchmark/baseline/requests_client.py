#!/usr/bin/python3
"""Reference client in Python: requests.Session (keep-alive). Polls, "commands
the device" for each new activation, confirms. Prints "set <id> <CLOCK_MONOTONIC ns>".
   requests_client.py <base-url> <ca-file|-> <poll-ms> <activations>"""
import sys
import time

import requests

base, ca, poll_ms, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
session = requests.Session()
session.headers.update({"Authorization": "Bearer bench-token", "Accept": "application/json"})
verify = ca if ca != "-" else True
seen, sets, device_setpoint = set(), [], 0.0
while len(sets) < want:
    try:
        r = session.get(base + "/v1/activations", params={"limit": 100, "offset": 0}, verify=verify)
        for a in r.json()["data"]:
            if a["id"] in seen:
                continue
            seen.add(a["id"])
            kw = a["power"] * (-1.0 if a["direction"] == "up" else 1.0)
            device_setpoint = kw
            sets.append((a["id"], time.monotonic_ns()))
            session.post(base + "/v1/activations/" + a["id"] + "/confirm", verify=verify,
                         json={"time": "2026-11-26T12:00:00.000Z", "status": "executing", "setpoint": kw})
    except requests.RequestException:
        pass
    time.sleep(poll_ms / 1000.0)
for ident, ns in sets:
    print("set", ident, ns)
