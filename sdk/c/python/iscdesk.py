"""The iscdesk SDK for Python: a ctypes module over the C library.

A program talks to the iscdesk desktop client running on the same machine,
as the published ISCDesk SDK does: connect, register an event callback, ask
for licenses, save files and assemblies to the cloud, open cloud files,
solve models, check for upgrades. Nothing needs compiling: the module loads
libiscdesk.so (Linux) or iscdesk.dll (Windows) from, in this order, the
path in $ISCDESK_LIBRARY, the folder of this file and its ../lib, and the
system's library path.

    import iscdesk
    sdk = iscdesk.SdkInvoker("myapp", "1.0.0")
    sdk.register_event_recall(lambda event: print(event))
    sdk.init()
    dev = iscdesk.fingerprint()
    license = sdk.get_license_string(dev)
    iscdesk.verify_device_license(license, VENDOR_KEY, dev)
    sdk.save("/path/to/part.prt")
    sdk.shut_out()

Events are dicts in the published shape: {"operate": ..., "params": {...},
"comeBackParams": {...}}; every param value is a string. Failures raise
IscdeskError, whose code is the C library's (ISCDESK_E_*) and whose event
is the final event of a failed operation (or None).
"""

import ctypes
import ctypes.util
import json
import os
import sys

__all__ = [
    "IscdeskError", "SdkInvoker", "fingerprint", "verify_device_license", "version",
    "OK", "E_INVALID", "E_NOT_CONNECTED", "E_DISCONNECTED", "E_REFUSED", "E_FAILED",
    "E_TIMEOUT", "E_IN_CALLBACK", "E_NOT_PRIVATE", "E_PROTOCOL", "E_LICENSE_MALFORMED",
    "E_LICENSE_SIGNATURE", "E_LICENSE_EXPIRED", "E_LICENSE_NOT_YET_VALID",
    "E_LICENSE_WRONG_DEVICE", "E_NOT_FOUND", "E_INTERNAL",
]

# Return codes, as iscdesk.h defines them.
OK = 0
E_INVALID = -1
E_NOT_CONNECTED = -2
E_DISCONNECTED = -3
E_REFUSED = -4
E_FAILED = -5
E_TIMEOUT = -6
E_IN_CALLBACK = -7
E_NOT_PRIVATE = -8
E_PROTOCOL = -9
E_LICENSE_MALFORMED = -10
E_LICENSE_SIGNATURE = -11
E_LICENSE_EXPIRED = -12
E_LICENSE_NOT_YET_VALID = -13
E_LICENSE_WRONG_DEVICE = -14
E_NOT_FOUND = -15
E_INTERNAL = -99


class IscdeskError(Exception):
    """A failed call: code is the ISCDESK_E_* code, event the final event
    of an operation that reported status "failed" (else None)."""

    def __init__(self, code, message, event=None):
        super().__init__("%s (code %d)" % (message, code))
        self.code = code
        self.message = message
        self.event = event


def _load():
    names = ["iscdesk.dll"] if sys.platform == "win32" else ["libiscdesk.so"]
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = []
    if os.environ.get("ISCDESK_LIBRARY"):
        candidates.append(os.environ["ISCDESK_LIBRARY"])
    for folder in (here, os.path.join(here, "..", "lib")):
        candidates += [os.path.join(folder, n) for n in names]
    found = ctypes.util.find_library("iscdesk")
    if found:
        candidates.append(found)
    for path in candidates:
        if os.path.exists(path) or path == found:
            return ctypes.CDLL(path)
    raise OSError("iscdesk: the library is not found: set ISCDESK_LIBRARY to libiscdesk.so or iscdesk.dll")


_lib = _load()
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_OUT = ctypes.POINTER(ctypes.c_void_p)
_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

for _name, _res, _args in [
    ("iscdesk_version", _S, []),
    ("iscdesk_free", None, [_P]),
    ("iscdesk_last_error", _P, [_P]),
    ("iscdesk_create", _P, [_S, _S, _S]),
    ("iscdesk_init", _I, [_P, _I]),
    ("iscdesk_shut_out", _I, [_P]),
    ("iscdesk_register_event_recall", _I, [_P, _CALLBACK, _P]),
    ("iscdesk_get_license_string_request", _I, [_P, _S, _OUT]),
    ("iscdesk_get_license_file_request", _I, [_P, _S, _S, _OUT]),
    ("iscdesk_queue_license_request", _I, [_P, _S, _S, _OUT]),
    ("iscdesk_license_verify_notify", _I, [_P, _I, _S]),
    ("iscdesk_check_new_versions_request", _I, [_P, _OUT]),
    ("iscdesk_upgrade_notify", _I, [_P, _I, _OUT]),
    ("iscdesk_open_cloud_file_request", _I, [_P, _OUT]),
    ("iscdesk_save_request", _I, [_P, _S, _I, _OUT]),
    ("iscdesk_get_solution_request", _I, [_P, _S, _OUT]),
    ("iscdesk_select_save_as_path_request", _I, [_P, _S, _I, _OUT]),
    ("iscdesk_get_license_string", _I, [_P, _S, _I, _OUT]),
    ("iscdesk_get_license_file", _I, [_P, _S, _S, _I, _OUT]),
    ("iscdesk_check_new_versions", _I, [_P, _I, _OUT]),
    ("iscdesk_open_cloud_file", _I, [_P, _I, _OUT]),
    ("iscdesk_save", _I, [_P, _S, _I, _I, _OUT]),
    ("iscdesk_get_solution", _I, [_P, _S, _I, _OUT]),
    ("iscdesk_select_save_as_path", _I, [_P, _S, _I, _I, _OUT]),
    ("iscdesk_fingerprint", _I, [_I, _OUT]),
    ("iscdesk_verify_device_license", _I, [_S, _S, _S, _OUT, _OUT]),
]:
    _f = getattr(_lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def _b(s):
    return None if s is None else s.encode("utf-8")


def _take(p):
    """The string at p (a library allocation) as str, freeing it."""
    if not p.value:
        return None
    try:
        return ctypes.string_at(p.value).decode("utf-8")
    finally:
        _lib.iscdesk_free(p.value)


def _ms(timeout):
    return 0 if timeout is None else max(1, int(timeout * 1000))


def version():
    """The C library's version."""
    return _lib.iscdesk_version().decode("utf-8")


def fingerprint(timeout=None):
    """This machine's devInfo ("MAC|disk|board|CPU"), as `iscdesk
    fingerprint` prints it; timeout in seconds (None: the default)."""
    out = ctypes.c_void_p()
    _lib.iscdesk_fingerprint(_ms(timeout), ctypes.byref(out))
    return _take(out)


def verify_device_license(license, public_key, dev_info):
    """Verifies a device license offline with the vendor's public key
    (base64) against dev_info, under the tolerance policy. Returns the
    claims as a dict; raises IscdeskError (an E_LICENSE_* code) if the
    license is not valid here."""
    claims, why = ctypes.c_void_p(), ctypes.c_void_p()
    rc = _lib.iscdesk_verify_device_license(_b(license), _b(public_key), _b(dev_info),
                                            ctypes.byref(claims), ctypes.byref(why))
    claims, why = _take(claims), _take(why)
    if rc != OK:
        raise IscdeskError(rc, why or "invalid license")
    return json.loads(claims)


class SdkInvoker:
    """One connection to the desktop client (the published SdkInvoker).

    Every method may be called from any thread. The event callback runs on a
    thread of the library, one event at a time; it must not call shut_out
    (which raises IscdeskError with code E_IN_CALLBACK there). Use it as a
    context manager, or call shut_out, to release the connection.
    """

    def __init__(self, app_name=None, app_version=None, socket_path=None):
        """app_name and app_version name the program to the desktop client
        (it checks new versions by them); socket_path None is the per-user
        default (or $ISCDESK_AGENT_SOCKET)."""
        self._h = _lib.iscdesk_create(_b(app_name), _b(app_version), _b(socket_path))
        self._callback = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shut_out()

    def _check(self, rc, event=None):
        if rc != OK:
            err = ctypes.c_void_p(_lib.iscdesk_last_error(self._h))
            raise IscdeskError(rc, _take(err) or "iscdesk call failed", event)

    def _request(self, fn, *args):
        rid = ctypes.c_void_p()
        self._check(fn(self._h, *args, ctypes.byref(rid)))
        return _take(rid)

    def _wait(self, fn, *args):
        out = ctypes.c_void_p()
        rc = fn(self._h, *args, ctypes.byref(out))
        event = _take(out)
        event = json.loads(event) if event else None
        self._check(rc, event)
        return event

    def init(self, timeout=10):
        """Init: connects to the desktop client (seconds; it reconnects by
        itself afterwards)."""
        self._check(_lib.iscdesk_init(self._h, _ms(timeout)))

    def register_event_recall(self, callback):
        """RegisterEventRecall: callback(event) receives every event as a
        dict; None removes it. An exception it raises is printed and
        dropped."""
        if callback is None:
            self._callback = None
            self._check(_lib.iscdesk_register_event_recall(self._h, _CALLBACK(), None))
            return

        def deliver(_type, event_json, _user):
            callback(json.loads(event_json.decode("utf-8")))

        self._callback = _CALLBACK(deliver)  # kept alive while registered
        self._check(_lib.iscdesk_register_event_recall(self._h, self._callback, None))

    def get_license_string_request(self, dev_info):
        """GetLicenseStringRequest: returns the request id; a LicenseVerify
        event answers."""
        return self._request(_lib.iscdesk_get_license_string_request, _b(dev_info))

    def get_license_file_request(self, file_name, dev_info):
        """GetLicenseFileRequest: the license is written to file_name; a
        LicenseVerify event gives its path."""
        return self._request(_lib.iscdesk_get_license_file_request, _b(file_name), _b(dev_info))

    def queue_license_request(self, dev_info, file_name=None):
        """For floating licenses (this project's): a license request that
        waits in the queue when every lease is taken: a LicenseQueued event,
        then LicenseVerify when a lease frees. As a file when file_name is
        given. Returns the request id."""
        return self._request(_lib.iscdesk_queue_license_request, _b(file_name), _b(dev_info))

    def license_verify_notify(self, ok, error_message=""):
        """LicenseVerifyNotify: tells the desktop client whether the
        program accepted the license."""
        self._check(_lib.iscdesk_license_verify_notify(self._h, 1 if ok else 0, _b(error_message)))

    def check_new_versions_request(self):
        """CheckNewVersions: an UpgradeNotice event answers."""
        return self._request(_lib.iscdesk_check_new_versions_request)

    def upgrade_notify(self, upgrade):
        """UpgradeNotify: whether to upgrade (after the program exits); an
        Update event answers."""
        return self._request(_lib.iscdesk_upgrade_notify, 1 if upgrade else 0)

    def open_cloud_file_request(self):
        """OpenCloudFile: an OpenFile event answers."""
        return self._request(_lib.iscdesk_open_cloud_file_request)

    def save_request(self, path, assembly=False):
        """Save: UploadStart, UploadEnd and SaveResult events answer."""
        return self._request(_lib.iscdesk_save_request, _b(path), 1 if assembly else 0)

    def get_solution_request(self, path):
        """GetSolution: a SolutionResult event answers."""
        return self._request(_lib.iscdesk_get_solution_request, _b(path))

    def select_save_as_path_request(self, file_name, assembly=False):
        """SelectSaveAsPath: asks the user where in the cloud drive to save,
        suggesting file_name (a plain file name; assembly: an assembly's
        main file). A SaveAsPath event answers; returns the request id."""
        return self._request(_lib.iscdesk_select_save_as_path_request, _b(file_name), 1 if assembly else 0)

    def get_license_string(self, dev_info, timeout=30):
        """Waits for the device license (a string) bound to dev_info."""
        out = ctypes.c_void_p()
        rc = _lib.iscdesk_get_license_string(self._h, _b(dev_info), _ms(timeout), ctypes.byref(out))
        license = _take(out)
        self._check(rc)
        return license

    def get_license_file(self, file_name, dev_info, timeout=30):
        """Waits for the license file; returns its path."""
        out = ctypes.c_void_p()
        rc = _lib.iscdesk_get_license_file(self._h, _b(file_name), _b(dev_info), _ms(timeout), ctypes.byref(out))
        path = _take(out)
        self._check(rc)
        return path

    def check_new_versions(self, timeout=30):
        """Waits for the UpgradeNotice event and returns it."""
        return self._wait(_lib.iscdesk_check_new_versions, _ms(timeout))

    def open_cloud_file(self, timeout=None):
        """Waits for the OpenFile event and returns it."""
        return self._wait(_lib.iscdesk_open_cloud_file, _ms(timeout))

    def save(self, path, assembly=False, timeout=None):
        """Saves and waits for the SaveResult event; a failed save raises
        IscdeskError with code E_FAILED and the event."""
        return self._wait(_lib.iscdesk_save, _b(path), 1 if assembly else 0, _ms(timeout))

    def get_solution(self, path, timeout=None):
        """Solves and waits for the SolutionResult event; a failed solve
        raises IscdeskError with code E_FAILED and the event."""
        return self._wait(_lib.iscdesk_get_solution, _b(path), _ms(timeout))

    def select_save_as_path(self, file_name, assembly=False, timeout=None):
        """Asks the user where in the cloud drive to save, suggesting
        file_name, and waits for the SaveAsPath event, which it returns: its
        params "savePath" (where in the cloud drive: for an assembly, its main
        file inside the assembly's folder), "name" (the drive entry),
        "fileName" and "assembly". A name the desktop client refuses raises
        IscdeskError with code E_INVALID; the user closing the chooser raises
        it with code E_FAILED and the event, whose params "kind" is
        "canceled"."""
        return self._wait(_lib.iscdesk_select_save_as_path, _b(file_name), 1 if assembly else 0, _ms(timeout))

    def shut_out(self):
        """ShutOut: disconnects and releases the connection."""
        if self._h:
            self._check(_lib.iscdesk_shut_out(self._h))
            self._h = None
            self._callback = None
