// cppsaveas: the C++ wrapper's SelectSaveAsPath and SelectSaveAsPathWait,
// run by sdk/c/e2e against a real agent (`iscdesk agent`, which without a
// window takes the suggested name). It prints each event as "event <json>"
// for the Go test to check, "FAIL …" for each failed check and "PASS" at
// the end. Built with g++ -std=c++17 -Wall -Wextra -Werror.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

#include "iscdesk.hpp"

static int failures;

static void check(bool ok, const char *what, const std::string &detail) {
    if (!ok) {
        failures++;
        std::printf("FAIL %s: %s\n", what, detail.c_str());
        std::fflush(stdout);
    }
}

static bool endsWith(const std::string &s, const std::string &end) {
    return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

int main() {
    std::mutex mu;
    std::condition_variable cv;
    std::string seen;  // the request ids of the SaveAsPath events received
    iscdesk::SdkInvoker sdk("cppsaveas", "1.0.0");
    sdk.RegisterEventRecall([&](const iscdesk::Event &e) {
        std::printf("event %s\n", e.json.c_str());
        std::fflush(stdout);
        if (e.type == ISCDESK_EVENT_SAVE_AS_PATH) {
            std::lock_guard<std::mutex> lock(mu);
            seen += e.RequestId() + "\n";
            cv.notify_all();
        }
    });
    int rc = sdk.Init();
    check(rc == ISCDESK_OK, "Init", sdk.LastError());

    std::string rid;
    rc = sdk.SelectSaveAsPath("bracket.prt", false, &rid);
    check(rc == ISCDESK_OK && !rid.empty(), "SelectSaveAsPath", sdk.LastError());
    {
        std::unique_lock<std::mutex> lock(mu);
        bool got = cv.wait_for(lock, std::chrono::seconds(20), [&] { return seen.find(rid + "\n") != std::string::npos; });
        check(got, "the SaveAsPath event of the request", rid);
    }

    iscdesk::Event chosen;
    rc = sdk.SelectSaveAsPathWait("gearbox.asm", true, chosen, 20000);
    check(rc == ISCDESK_OK && chosen.type == ISCDESK_EVENT_SAVE_AS_PATH && chosen.Param("name") == "gearbox" &&
              endsWith(chosen.Param("savePath"), "gearbox/gearbox.asm") && chosen.Param("assembly") == "true",
          "SelectSaveAsPathWait", chosen.json + " " + sdk.LastError());

    rc = sdk.SelectSaveAsPathWait("../escape.prt", false, chosen, 20000);
    check(rc == ISCDESK_E_INVALID, "a hostile suggestion", std::to_string(rc) + " " + sdk.LastError());

    std::printf(failures == 0 ? "PASS\n" : "FAIL %d checks\n", failures);
    return failures == 0 ? 0 : 1;
}
