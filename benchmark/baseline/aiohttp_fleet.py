#!/usr/bin/python3
"""Fleet baseline in Python: asyncio + one aiohttp.ClientSession (connection
pool limited to K). Each asset sends telemetry and polls on its own schedule
and confirms new activations. Same arguments and result line as fleet_client
(--tick-ms: what falls due is done on a grid of that many ms, rounded up)."""
import asyncio
import datetime
import json
import math
import os
import resource
import ssl
import sys
import time

import aiohttp


def args():
    a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    return (a["--url"], a.get("--ca", ""), int(a["--assets"]), int(a["--telemetry-ms"]) / 1000,
            int(a["--poll-ms"]) / 1000, int(a["--duration-s"]), int(a.get("--connections", "4")),
            int(a.get("--tick-ms", "0")) / 1000)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_kb():
    """Resident KiB: all, and the private (anonymous) part (without mapped files' pages)."""
    with open("/proc/self/statm") as f:
        pages, shared = (int(x) for x in f.read().split()[1:3])
    kb = os.sysconf("SC_PAGE_SIZE") // 1024
    return pages * kb, (pages - shared) * kb


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def main():
    url, ca, n, tel, poll, duration, conns, tick = args()

    def on_grid(t):
        return math.ceil(t / tick) * tick if tick > 0 else t

    ctx = ssl.create_default_context(cafile=ca) if ca else None
    stats = {"sent": 0, "polls": 0, "failures": 0}
    rss_before = rss_kb()
    end = time.monotonic() + duration
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns, ssl=ctx)) as session:

        start = time.monotonic()

        async def every(period, offset, action):
            due = start + offset
            await asyncio.sleep(max(0.0, on_grid(due) - time.monotonic()))
            while due < end:
                try:
                    await action()
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    stats["failures"] += 1
                due += period
                await asyncio.sleep(max(0.0, on_grid(due) - time.monotonic()))

        def asset(i):
            headers = {"Authorization": "Bearer fleet-token-%d" % i}
            seen = set()

            async def telemetry():
                async with session.post(url + "/v1/telemetry", headers=headers,
                                        json={"time": now_text(), "power": 0.0, "soc": 50.0}) as r:
                    await r.read()
                    stats["sent" if r.status < 300 else "failures"] += 1

            async def poll_once():
                async with session.get(url + "/v1/activations", params={"limit": "100", "offset": "0"},
                                       headers=headers) as r:
                    body = await r.json()
                    stats["polls"] += 1
                for a in body["data"]:
                    if a["id"] in seen:
                        continue
                    seen.add(a["id"])
                    kw = a["power"] * (-1.0 if a["direction"] == "up" else 1.0)
                    async with session.post(url + "/v1/activations/" + a["id"] + "/confirm", headers=headers,
                                            json={"time": now_text(), "status": "executing", "setpoint": kw}) as c:
                        await c.read()

            offset = i * tel / n
            return [every(tel, offset, telemetry), every(poll, offset, poll_once)]

        tasks = [t for i in range(n) for t in asset(i)]
        cpu_before = cpu()
        await asyncio.gather(*tasks)
    rss_after = rss_kb()
    print(json.dumps({"cpu_s": round(cpu() - cpu_before, 3), "rss_kb_before": rss_before[0], "rss_kb_after": rss_after[0],
                      "private_kb_before": rss_before[1], "private_kb_after": rss_after[1],
                      "samples_sent": stats["sent"], "polls": stats["polls"], "failures": stats["failures"], "start_failures": 0}))


asyncio.run(main())
