// Package apps is the vendor-package manager behind `iscdesk app`: it
// installs vendor software packages (software.tar.gz / .tar / .zip) silently,
// uninstalls them, and keeps the record of what is installed. It uses the
// standard library and the small internal helpers (download, errs, safename,
// atomicfile) only; it must not import the GUI toolkit, the agent or
// licensing. The client's own installers are in deploy/, not here.
//
// A Manager installs, uninstalls and lists the vendor packages of one user
// (docs/installer.md). The rules it applies:
//
//   - The package is a .tar.gz, .tar or .zip archive. The published name is
//     software.<suffix>, but any name is accepted: the format is read from
//     the file's first bytes (the .tar suffix only settles an old-style tar
//     without a magic number).
//   - Source: a local path, or an https URL (system roots plus
//     Manager.ExtraRootCAs; plain http only to this machine, also after
//     redirects), fetched by internal/download into the cache folder, where
//     an interrupted download resumes (Range, If-Range) within the call or
//     on the next Install. The download is capped at MaxUnpackedBytes.
//   - The optional SHA-256 covers the package file. A mismatch refuses the
//     package and deletes a download (never the user's own file).
//   - Unpacking refuses, before writing anything, entries with "..", absolute
//     paths, drive letters or backslashes, symbolic links pointing out of the
//     folder (".." is allowed only as leading elements of a link target, not
//     more than the link's depth), hard links to anything but a file unpacked
//     before, and entries written through or over a link. Writing goes
//     through os.Root as a second line of defence. Execute bits are kept,
//     set-id bits dropped. Caps: MaxUnpackedBytes (default 32 GiB) and
//     MaxEntries (default one million).
//   - Layout: install and uninstall scripts (install.sh and uninstall.sh on
//     Linux and macOS, install.bat and uninstall.bat on Windows) at the top
//     level or inside the single top folder, and an optional software.json
//     with at least "name" and "version". Without it the name is the single
//     top folder's, else the archive file's without its suffix.
//   - The package is unpacked into a staging folder next to the target, so
//     that a vendor script can move its payload into place. The target
//     folder exists (created if missing) when the install script runs. A
//     script runs from the package folder with the target as its first
//     argument and in ISCDESK_INSTALL_DIR, no standard input, no window, its
//     output in <Root>/logs/<name>-<install|uninstall>-<time>.log, within
//     ScriptTimeout (default one hour); exit status 0 is success. A script
//     with a "#!" line runs with that interpreter, others with /bin/sh.
//   - After the install script succeeds, the package folder (scripts and
//     whatever the script left) is kept as <Root>/packages/<name>-<random>
//     for the uninstall, and <Root>/apps.json records name, version, folder,
//     time, source (URLs without query or user information) and state.
//
// Interruptions: an install killed at any point can be run again. Staging
// folders are per attempt and journaled (<Root>/staging.json) before they
// exist, so the next call removes them; the record is written atomically,
// only after the script succeeded, and switches to the new kept folder in
// that one write; kept folders no record names are removed. Installs and
// uninstalls on the same Root take turns through a lock file the OS releases
// when its holder dies; on Linux a killed client takes its running script
// with it.
//
// Uninstall policy: the vendor script owns the files it installed, so the
// client never deletes inside the target folder (it removes the folder only
// if the script left it empty). If the script fails, the record and the kept
// scripts stay, marked StateUninstallFailed with the reason and log, and the
// error says so: the user can retry, and Forget drops a record whose script
// can never succeed. If the script succeeds, every remaining step runs even
// if one fails, and the error joins the failures.
package apps
