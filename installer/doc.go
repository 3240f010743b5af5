// Package installer owns silent deployment: the install and uninstall scripts
// and packaging recipes of the client for each OS, and the one-click silent
// installer of vendor software packages (software.tar.gz / .tar / .zip) with
// its record of what is installed. It uses the standard library only and must
// not import the GUI toolkit. (Filled by the silent deployment issue.)
package installer
