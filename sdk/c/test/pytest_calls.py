"""Every call of iscdesk.py against a real agent, run by sdk/c/e2e's
TestPythonCalls with the system's python3.

usage: python3 pytest_calls.py VENDOR_KEY WORKDIR DEVINFO
Prints "ok <step>" per check, each event as "event <json>", and "PASS" at
the end; an assertion error fails the run.
"""
import json
import os
import sys
import threading
import time

import iscdesk

key, work, want_dev = sys.argv[1], sys.argv[2], sys.argv[3]
part = os.path.join(work, "part.prt")
events = []
lock = threading.Lock()


def on_event(event):
    with lock:
        events.append(event)
    print("event", json.dumps(event), flush=True)


def ok(step):
    print("ok", step, flush=True)


def wait_event(operate, rid):
    for _ in range(2000):
        with lock:
            for e in events:
                if e["operate"] == operate and e["comeBackParams"].get("requestId") == rid:
                    return e
        time.sleep(0.01)
    raise AssertionError("no %s for %s" % (operate, rid))


assert iscdesk.version(), "no version"
dev = iscdesk.fingerprint()
assert dev == want_dev, (dev, want_dev)
ok("fingerprint")

sdk = iscdesk.SdkInvoker("ctest", "1.0.0")
try:
    sdk.save_request(part)
    raise AssertionError("a call before init succeeded")
except iscdesk.IscdeskError as e:
    assert e.code == iscdesk.E_NOT_CONNECTED, e
sdk.register_event_recall(on_event)
sdk.init()
ok("init")

rid = sdk.get_license_string_request(dev)
assert wait_event("LicenseVerify", rid)["params"]["LicenseType"] == "string"
license = sdk.get_license_string(dev)
claims = iscdesk.verify_device_license(license, key, dev)
assert claims["dev"] == dev, claims
try:
    iscdesk.verify_device_license(license, key, "02:00:00:00:00:01|OTHER|OTHER|CPU")
    raise AssertionError("a license verified on another machine")
except iscdesk.IscdeskError as e:
    assert e.code == iscdesk.E_LICENSE_WRONG_DEVICE, e
sdk.license_verify_notify(True)
ok("license string")

rid = sdk.get_license_file_request("py.lic", dev)
assert wait_event("LicenseVerify", rid)["params"]["LicenseType"] == "file"
path = sdk.get_license_file("py.lic", dev)
assert path.endswith("py.lic") and os.path.exists(path), path
ok("license file")

rid = sdk.check_new_versions_request()
assert wait_event("UpgradeNotice", rid)["params"]["available"] == "true"
notice = sdk.check_new_versions()
assert notice["params"]["version"] == "2.0.0", notice
rid = sdk.upgrade_notify(False)
assert wait_event("Update", rid)["operate"] == "Update"
ok("versions")

rid = sdk.save_request(part)
assert wait_event("SaveResult", rid)["params"]["status"] == "success"
assert wait_event("UploadStart", rid) and wait_event("UploadEnd", rid)
result = sdk.save(part)
assert result["params"]["name"] == "part.prt", result
try:
    sdk.save(os.path.join(work, "missing.prt"))
    raise AssertionError("a save of a missing file succeeded")
except iscdesk.IscdeskError as e:
    assert e.code == iscdesk.E_FAILED and e.event["params"]["kind"] == "not_exist", (e, e.event)
ok("save")

rid = sdk.open_cloud_file_request()
assert wait_event("OpenFile", rid)["params"]["openType"] == "OpenOnly"
opened = sdk.open_cloud_file()
assert opened["params"]["mainFile"].endswith("part.prt"), opened
ok("open")

rid = sdk.select_save_as_path_request("part-v3.prt")
chosen = wait_event("SaveAsPath", rid)["params"]
assert chosen["fileName"] == "part-v3.prt" and os.path.basename(chosen["savePath"]) == "part-v3.prt", chosen
chosen = sdk.select_save_as_path("gear.asm", assembly=True)["params"]
assert chosen["name"] == "gear" and chosen["assembly"] == "true", chosen
assert chosen["savePath"].endswith(os.path.join("gear", "gear.asm")), chosen
try:
    sdk.select_save_as_path("../escape.prt")
    raise AssertionError("a hostile save-as name was accepted")
except iscdesk.IscdeskError as e:
    assert e.code == iscdesk.E_INVALID, e
ok("save as")

rid = sdk.get_solution_request(part)
assert wait_event("SolutionResult", rid)["params"]["status"] == "success"
try:
    sdk.get_solution(os.path.join(work, "bad.prt"))
    raise AssertionError("a failing solve succeeded")
except iscdesk.IscdeskError as e:
    assert e.code == iscdesk.E_FAILED and e.event["params"]["exitCode"] == "3", (e, e.event)
ok("solve")

# shut_out from inside the callback raises E_IN_CALLBACK; outside it works.
inner = iscdesk.SdkInvoker("ctest", "1.0.0")
seen = []


def shut_out_inside(_event):
    if seen:
        return
    try:
        inner.shut_out()
        seen.append("no error")
    except iscdesk.IscdeskError as e:
        seen.append(e.code)


inner.register_event_recall(shut_out_inside)
inner.init()
inner.save(part)
assert seen == [iscdesk.E_IN_CALLBACK], seen
inner.shut_out()
ok("shut_out inside the callback")

sdk.register_event_recall(None)
sdk.shut_out()
print("PASS", flush=True)
