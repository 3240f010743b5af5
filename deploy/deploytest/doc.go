// Package deploytest holds the tests of the client's own installers: they
// run the real deploy/linux/install.sh and uninstall.sh in temporary
// prefixes, build the Windows installer (NSIS) and MSI (wixl) and check them
// structurally, run them under wine when ISCDESK_WINE=1, and check the
// release archives of deploy/dist.sh when ISCDESK_DIST=1. It has no code of
// its own: the installers are shell, NSIS and WiX files.
package deploytest
