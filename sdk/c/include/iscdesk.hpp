// iscdesk.hpp: the iscdesk SDK for C++ (header-only, C++17) over the C
// library (iscdesk.h), in the shape of the published ISCDesk C++ SDK: an
// invoker class with the published method names. A program written for the
// published SDK ports by including this header instead, linking libiscdesk
// (iscdesk.lib on Windows) instead of loading IscdeskApi64.dll, and
// constructing iscdesk::SdkInvoker where it obtained the SdkInvoker.
//
// Conventions are the C library's (see iscdesk.h): UTF-8 strings; methods
// return ISCDESK_OK or an ISCDESK_E_* code, and LastError() says why; every
// method is safe from any thread; the callback runs on a thread of the
// library, one event at a time, and must not call ShutOut (it returns
// ISCDESK_E_IN_CALLBACK there) nor destroy the invoker.
#ifndef ISCDESK_HPP
#define ISCDESK_HPP

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "iscdesk.h"

namespace iscdesk {

namespace detail {
// take moves a string the library returned into a std::string and frees it.
inline std::string take(char *s) {
    if (s == nullptr) {
        return std::string();
    }
    std::string out(s);
    iscdesk_free(s);
    return out;
}
inline const char *c_str_or_null(const std::string &s) { return s.empty() ? nullptr : s.c_str(); }
}  // namespace detail

// Event is one event: its ISCDESK_EVENT_* type and its published JSON.
struct Event {
    int type = ISCDESK_EVENT_OTHER;
    std::string json;

    // Param is params[key] ("" when absent); "operate" gives the operate
    // and "comeBackParams.<k>" a comeBackParams entry.
    std::string Param(const std::string &key) const {
        char *v = nullptr;
        if (json.empty() || iscdesk_event_param(json.c_str(), key.c_str(), &v) != ISCDESK_OK) {
            return std::string();
        }
        return detail::take(v);
    }
    std::string Operate() const { return Param("operate"); }
    std::string RequestId() const { return Param("comeBackParams.requestId"); }
    // Failed: the event says status "failed".
    bool Failed() const { return Param("status") == "failed" || Param("Status") == "failed"; }
};

// EventRecall receives every event (the published RegisterEventRecall's
// callback).
using EventRecall = std::function<void(const Event &)>;

// Version is the library's version.
inline std::string Version() { return iscdesk_version(); }

// Fingerprint is this machine's devInfo, as `iscdesk fingerprint` prints it.
inline std::string Fingerprint(int timeoutMs = 0) {
    char *dev = nullptr;
    if (iscdesk_fingerprint(timeoutMs, &dev) != ISCDESK_OK) {
        return std::string();
    }
    return detail::take(dev);
}

// VerifyDeviceLicense checks a device license offline with the vendor's
// public key (base64) against devInfo; claims (JSON) and error may be null.
inline int VerifyDeviceLicense(const std::string &license, const std::string &publicKey, const std::string &devInfo,
                               std::string *claims = nullptr, std::string *error = nullptr) {
    char *c = nullptr;
    char *e = nullptr;
    int rc = iscdesk_verify_device_license(license.c_str(), publicKey.c_str(), devInfo.c_str(), &c, &e);
    std::string cs = detail::take(c);
    std::string es = detail::take(e);
    if (claims != nullptr) {
        *claims = cs;
    }
    if (error != nullptr) {
        *error = es;
    }
    return rc;
}

// SdkInvoker is one connection to the desktop client. It shuts out when
// destroyed. It is neither copied nor moved: the library holds its address
// for the callback.
class SdkInvoker {
public:
    // appName and appVersion name the program to the desktop client (it
    // checks new versions by them); socketPath "" is the per-user default.
    explicit SdkInvoker(const std::string &appName = "", const std::string &appVersion = "",
                        const std::string &socketPath = "")
        : handle_(iscdesk_create(detail::c_str_or_null(appName), detail::c_str_or_null(appVersion),
                                 detail::c_str_or_null(socketPath))) {}
    ~SdkInvoker() { ShutOut(); }
    SdkInvoker(const SdkInvoker &) = delete;
    SdkInvoker &operator=(const SdkInvoker &) = delete;

    int Init(int timeoutMs = 10000) { return iscdesk_init(handle_, timeoutMs); }

    // RegisterEventRecall sets the callback; an empty function removes it.
    int RegisterEventRecall(EventRecall recall) {
        std::atomic_store(&recall_, recall ? std::make_shared<EventRecall>(std::move(recall)) : nullptr);
        return iscdesk_register_event_recall(handle_, &SdkInvoker::Deliver, this);
    }

    // The published calls; requestId, when given, receives the request id
    // that the events answering the call carry.
    int GetLicenseStringRequest(const std::string &devInfo, std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_get_license_string_request(handle_, devInfo.c_str(), &r);
        return Out(rc, r, requestId);
    }
    int GetLicenseFileRequest(const std::string &fileName, const std::string &devInfo, std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_get_license_file_request(handle_, fileName.c_str(), devInfo.c_str(), &r);
        return Out(rc, r, requestId);
    }
    // QueueLicenseRequest (this project's, floating licenses): waits in the
    // queue when the pool is full (LicenseQueued, then LicenseVerify); as a
    // file when fileName is not empty.
    int QueueLicenseRequest(const std::string &devInfo, const std::string &fileName = "", std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_queue_license_request(handle_, detail::c_str_or_null(fileName), devInfo.c_str(), &r);
        return Out(rc, r, requestId);
    }
    int LicenseVerifyNotify(bool ok, const std::string &errMsg = "") {
        return iscdesk_license_verify_notify(handle_, ok ? 1 : 0, errMsg.c_str());
    }
    int CheckNewVersions(std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_check_new_versions_request(handle_, &r);
        return Out(rc, r, requestId);
    }
    int UpgradeNotify(bool upgrade, std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_upgrade_notify(handle_, upgrade ? 1 : 0, &r);
        return Out(rc, r, requestId);
    }
    int OpenCloudFile(std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_open_cloud_file_request(handle_, &r);
        return Out(rc, r, requestId);
    }
    int Save(const std::string &path, bool assembly = false, std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_save_request(handle_, path.c_str(), assembly ? 1 : 0, &r);
        return Out(rc, r, requestId);
    }
    int GetSolution(const std::string &path, std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_get_solution_request(handle_, path.c_str(), &r);
        return Out(rc, r, requestId);
    }
    // SelectSaveAsPath: asks the user where in the cloud drive to save,
    // suggesting fileName; a SaveAsPath event answers ("savePath").
    int SelectSaveAsPath(const std::string &fileName, bool assembly = false, std::string *requestId = nullptr) {
        char *r = nullptr;
        int rc = iscdesk_select_save_as_path_request(handle_, fileName.c_str(), assembly ? 1 : 0, &r);
        return Out(rc, r, requestId);
    }

    // The waiting forms (not in the published SDK): they return when the
    // final event arrived (ISCDESK_E_FAILED when it says "failed"), and give
    // what it carries.
    int GetLicenseString(const std::string &devInfo, std::string &license, int timeoutMs = 30000) {
        char *s = nullptr;
        int rc = iscdesk_get_license_string(handle_, devInfo.c_str(), timeoutMs, &s);
        return Out(rc, s, &license);
    }
    int GetLicenseFile(const std::string &fileName, const std::string &devInfo, std::string &path, int timeoutMs = 30000) {
        char *s = nullptr;
        int rc = iscdesk_get_license_file(handle_, fileName.c_str(), devInfo.c_str(), timeoutMs, &s);
        return Out(rc, s, &path);
    }
    int CheckNewVersionsWait(Event &notice, int timeoutMs = 30000) {
        char *s = nullptr;
        int rc = iscdesk_check_new_versions(handle_, timeoutMs, &s);
        return OutEvent(rc, s, ISCDESK_EVENT_UPGRADE_NOTICE, notice);
    }
    int OpenCloudFileWait(Event &openFile, int timeoutMs = 0) {
        char *s = nullptr;
        int rc = iscdesk_open_cloud_file(handle_, timeoutMs, &s);
        return OutEvent(rc, s, ISCDESK_EVENT_OPEN_FILE, openFile);
    }
    int SaveWait(const std::string &path, bool assembly, Event &result, int timeoutMs = 0) {
        char *s = nullptr;
        int rc = iscdesk_save(handle_, path.c_str(), assembly ? 1 : 0, timeoutMs, &s);
        return OutEvent(rc, s, ISCDESK_EVENT_SAVE_RESULT, result);
    }
    int GetSolutionWait(const std::string &path, Event &result, int timeoutMs = 0) {
        char *s = nullptr;
        int rc = iscdesk_get_solution(handle_, path.c_str(), timeoutMs, &s);
        return OutEvent(rc, s, ISCDESK_EVENT_SOLUTION_RESULT, result);
    }
    int SelectSaveAsPathWait(const std::string &fileName, bool assembly, Event &chosen, int timeoutMs = 0) {
        char *s = nullptr;
        int rc = iscdesk_select_save_as_path(handle_, fileName.c_str(), assembly ? 1 : 0, timeoutMs, &s);
        return OutEvent(rc, s, ISCDESK_EVENT_SAVE_AS_PATH, chosen);
    }

    // ShutOut disconnects and releases the connection; later calls return
    // ISCDESK_E_INVALID. From inside the callback it returns
    // ISCDESK_E_IN_CALLBACK and changes nothing.
    int ShutOut() {
        if (handle_ == nullptr) {
            return ISCDESK_OK;
        }
        int rc = iscdesk_shut_out(handle_);
        if (rc == ISCDESK_OK) {
            handle_ = nullptr;
        }
        return rc;
    }

    // LastError is why this thread's last failed call on this invoker failed.
    std::string LastError() const { return detail::take(iscdesk_last_error(handle_)); }

private:
    static void Deliver(int type, const char *json, void *self) {
        std::shared_ptr<EventRecall> recall = std::atomic_load(&static_cast<SdkInvoker *>(self)->recall_);
        if (recall && *recall) {
            Event e;
            e.type = type;
            e.json = json;
            (*recall)(e);
        }
    }
    static int Out(int rc, char *s, std::string *to) {
        std::string v = detail::take(s);
        if (to != nullptr) {
            *to = v;
        }
        return rc;
    }
    static int OutEvent(int rc, char *s, int type, Event &to) {
        to.type = type;
        to.json = detail::take(s);
        return rc;
    }

    iscdesk_client *handle_;
    std::shared_ptr<EventRecall> recall_;
};

}  // namespace iscdesk

#endif  // ISCDESK_HPP
