"""A floating license of one seat through iscdesk.py, run by sdk/c/e2e's
TestFloatingQueue against a real agent.

usage: python3 pytest_floating.py VENDOR_KEY DEVINFO
"""
import json
import sys
import threading

import iscdesk

key, dev = sys.argv[1], sys.argv[2]

first = iscdesk.SdkInvoker("ctest", "1.0.0")
first.init()
license = first.get_license_string(dev)
iscdesk.verify_device_license(license, key, dev)
print("ok the first program holds the lease", flush=True)

second = iscdesk.SdkInvoker("ctest", "1.0.0")
queued, verified = threading.Event(), threading.Event()
got = {}


def on_event(event):
    print("event", json.dumps(event), flush=True)
    if event["operate"] == "LicenseQueued":
        got["queued"] = event
        queued.set()
    if event["operate"] == "LicenseVerify":
        got["verify"] = event
        verified.set()


second.register_event_recall(on_event)
second.init()
try:
    second.get_license_string(dev)
    raise AssertionError("a second lease of a one-seat pool")
except iscdesk.IscdeskError as e:
    assert e.code == iscdesk.E_FAILED, e
print("ok without queueing the second program is refused", flush=True)
got.clear()
verified.clear()

rid = second.queue_license_request(dev)
assert queued.wait(10), "no LicenseQueued"
assert got["queued"]["comeBackParams"]["requestId"] == rid, got
assert "holders" in got["queued"]["params"], got["queued"]
assert not verified.wait(1), "a license while the pool is full"
print("ok queued", flush=True)

first.shut_out()
assert verified.wait(10), "no license after the first program shut out"
v = got["verify"]
assert v["params"]["Status"] == "success" and v["comeBackParams"]["requestId"] == rid, v
iscdesk.verify_device_license(v["params"]["LicenseContent"], key, dev)
print("ok the second program got the lease", flush=True)
second.shut_out()
print("PASS", flush=True)
