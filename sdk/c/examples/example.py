"""example.py: license check, save, events, with the iscdesk Python module.

usage: python3 example.py VENDOR_PUBLIC_KEY FILE
"""
import json
import sys

import iscdesk


def main(vendor_key, path):
    with iscdesk.SdkInvoker("example", "1.0.0") as sdk:
        sdk.register_event_recall(lambda event: print("event:", json.dumps(event), flush=True))
        sdk.init()
        dev = iscdesk.fingerprint()
        license = sdk.get_license_string(dev)
        try:
            claims = iscdesk.verify_device_license(license, vendor_key, dev)
        except iscdesk.IscdeskError as e:
            sdk.license_verify_notify(False, e.message)
            raise
        sdk.license_verify_notify(True)
        print("licensed until", claims["exp"])
        result = sdk.save(path)
        print("saved:", result["params"]["name"], "to", result["params"]["cloudPath"])
        try:
            sdk.save(path + ".missing")
        except iscdesk.IscdeskError as e:
            print("failed save:", e.code, e.event["params"]["kind"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
