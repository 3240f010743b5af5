package sdk

// VerifyDeviceLicenseWith is VerifyDeviceLicense with this machine's
// protected OS machine id given by the test.
var VerifyDeviceLicenseWith = verifyDeviceLicense
