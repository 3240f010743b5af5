// example.cpp: license check, save, events, with the iscdesk C++ header.
// usage: example_cpp VENDOR_PUBLIC_KEY FILE
// Build: g++ -std=c++17 -Wall -I<sdk>/include example.cpp -L<sdk>/lib -liscdesk
#include <cstdio>
#include <string>

#include "iscdesk.hpp"

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    iscdesk::SdkInvoker sdk("example", "1.0.0");
    sdk.RegisterEventRecall([](const iscdesk::Event &e) { std::printf("event: %s\n", e.json.c_str()); std::fflush(stdout); });
    std::string dev = iscdesk::Fingerprint(), license, why;
    iscdesk::Event saved;
    int rc = sdk.Init();
    if (rc == ISCDESK_OK && (rc = sdk.GetLicenseString(dev, license)) == ISCDESK_OK) {
        rc = iscdesk::VerifyDeviceLicense(license, argv[1], dev, nullptr, &why);
        sdk.LicenseVerifyNotify(rc == ISCDESK_OK, why);
    }
    if (rc == ISCDESK_OK) rc = sdk.SaveWait(argv[2], false, saved);
    if (rc != ISCDESK_OK) {
        std::fprintf(stderr, "example: %d: %s\n", rc, why.empty() ? sdk.LastError().c_str() : why.c_str());
        return 1;
    }
    std::printf("saved: %s to %s\n", saved.Param("name").c_str(), saved.Param("cloudPath").c_str());
    return 0;
}
